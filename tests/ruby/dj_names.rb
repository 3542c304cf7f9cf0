# Print, as JSON, what real Delayed Job says about every row of an existing delayed_jobs table:
# Delayed::Job#name, whether the payload loads, and the stored handler/last_error/queue.
#   ruby tests/ruby/dj_names.rb sqlite3:/tmp/demo.sqlite3
require_relative "app"

JobctlInterop.connect(ARGV.fetch(0))
puts JSON.generate(JobctlInterop.rows)
