"""jobctl — operate Resque and Delayed Job queues from the outside."""

__version__ = "0.1.0"
