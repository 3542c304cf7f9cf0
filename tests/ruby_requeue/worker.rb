# A real Delayed Job worker (Debian's delayed_job 4.1.9 + delayed_job_active_record) that runs the
# jobs jobctl requeued. It defines the fixture's job classes the way a fixed deploy would: every
# job that failed only because of its code (not because its data is gone) now succeeds and
# records that it ran in the log file given as ARGV[1]: a "class payload" line from the job itself
# and an "ok <id>" line from a lifecycle hook once the job succeeded.
#
#   ruby worker.rb DATABASE_URL LOG_FILE
#   DATABASE_URL: sqlite3:///path/db.sqlite3 or postgresql://user@host:port/db
#
# Runs work_off passes until nothing is due; prints "success=N failure=M" on stdout.
require "logger"
require "active_record"
require "active_job"
require "global_id"
require "delayed_job"
require "delayed_job_active_record"
require "delayed/backend/active_record"

url, LOG = ARGV
abort "usage: ruby worker.rb DATABASE_URL LOG_FILE" unless url && LOG

ActiveRecord::Base.establish_connection(url)
ActiveRecord::Base.default_timezone = :utc
ActiveRecord::Base.logger = nil
Delayed::Worker.backend = :active_record
Delayed::Worker.destroy_failed_jobs = false
Delayed::Worker.max_attempts = 2
Delayed::Worker.sleep_delay = 0
Delayed::Worker.logger = Logger.new($stderr, level: Logger::WARN)
ActiveJob::Base.queue_adapter = :delayed_job
ActiveJob::Base.logger = Logger.new(nil)
GlobalID.app = "oracle-app"

def record(line)
  File.open(LOG, "a") { |f| f.puts(line) }
end

class User < ActiveRecord::Base
  include GlobalID::Identification

  def send_heavy_report(*args)
    record("User#send_heavy_report #{id}")
  end

  def self.explode(text)
    record("User.explode #{text.inspect}")
  end

  def self.validate_strict(opts)
    record("User.validate_strict #{opts.inspect}")
  end
end

NewsletterJob = Struct.new(:text, :emails) do
  def perform
    record("NewsletterJob #{text}")
  end
end

ToxicJob = Struct.new(:payload_id, :note) do
  def perform
    record("ToxicJob #{payload_id}")
  end
end

class ChargeCardJob < ActiveJob::Base
  def perform(user_id, amount, currency = "USD")
    record("ChargeCardJob #{user_id} #{amount} #{currency}")
  end
end

class PurgeUserDataJob < ActiveJob::Base
  def perform(user, days: 1, dry_run: false)
    record("PurgeUserDataJob #{user.id} #{days}")
  end
end

# One "ok <id>" line per job that ran to success (invoke_job raises on failure, so this runs only then).
# (A plugin, because Worker.new rebuilds the lifecycle from the registered plugins.)
class RecordSuccess < Delayed::Plugin
  callbacks do |lifecycle|
    lifecycle.around(:invoke_job) do |job, *args, &block|
      block.call(job, *args)
      record("ok #{job.id}")
    end
  end
end
Delayed::Worker.plugins << RecordSuccess

# work_off stops early after a job that fails to deserialize (its run returns nil), so run passes
# until one does nothing.
worker = Delayed::Worker.new(quiet: true)
success = failure = 0
20.times do
  s, f = worker.work_off(1000)
  success += s
  failure += f
  break if s + f == 0 && !Delayed::Job.where(failed_at: nil, locked_at: nil).where("run_at <= ?", Time.now.utc).exists?
end
puts "success=#{success} failure=#{failure}"
