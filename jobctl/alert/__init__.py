"""Alerting for `jobctl alert` and `jobctl metrics`: pure evaluation over the Backend protocol.

    thresholds.py  plugin states, range syntax (10, 10:, ~:10, 10:20, @10:20)
    metrics.py     what each metric measures, its defaults
    rules.py       Rule + field validation; rulefile.py reads TOML rules files; setup.py maps options
    channels.py    notification channels and SMTP settings; secrets.py masking
    measure.py     metric values from backend reads; evaluate.py state, message, perfdata
    runner.py      one run: deadline, threads per target, state lock, notifications
    state.py       transitions, re-notify, fcntl lock, atomic state file
    notify/        email.py, webhook.py, command.py (+ text.py shared wording)
    report.py      plugin text and JSON; promfile.py / promstats.py Prometheus textfile

Nothing here imports typer, textual or click (import-linter contract), and nothing writes to a
queue store.
"""
