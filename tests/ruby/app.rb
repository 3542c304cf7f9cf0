# A tiny "Rails app" for jobctl's interop tests: the real delayed_job + delayed_job_active_record +
# ActiveRecord/ActiveJob/ActionMailer from Debian, no Rails boot. It defines the job classes that
# tests/ruby/enqueue_all.rb enqueues and that jobctl's demo database uses, so Delayed Job can load
# every handler of either (Psych needs the classes to exist).
#
# Usage: require_relative "app"; JobctlInterop.connect(ARGV[0])
#   ARGV[0] = "sqlite3:/path/to/db.sqlite3" or "postgresql://user@host:port/db" (or mysql2://...)

require "json"
require "logger"
require "active_record"
require "active_job"
require "action_mailer"
require "global_id"
require "delayed_job"
require "delayed_job_active_record"

ActiveRecord::Base.default_timezone = :utc
ActiveRecord::Base.logger = nil
ActiveJob::Base.logger = Logger.new(nil)
ActiveJob::Base.queue_adapter = :delayed_job
ActionMailer::Base.delivery_method = :test
ActionMailer::Base.delivery_job = ActionMailer::MailDeliveryJob
ActionMailer::Base.logger = nil
GlobalID.app = "jobctl-demo"
ActiveRecord::Base.include(GlobalID::Identification)
Delayed::Worker.backend = :active_record
Delayed::Worker.destroy_failed_jobs = false
Delayed::Worker.max_attempts = 3
Delayed::Worker.logger = Logger.new(nil)

module JobctlInterop
  MIGRATION = "/usr/share/rubygems-integration/all/gems/delayed_job_active_record-4.1.6/" \
              "lib/generators/delayed_job/templates/migration.rb"

  def self.connect(target)
    if target.start_with?("sqlite3:")
      ActiveRecord::Base.establish_connection(adapter: "sqlite3", database: target.sub("sqlite3:", ""))
    else
      ActiveRecord::Base.establish_connection(target)
    end
  end

  # The delayed_jobs table exactly as `rails g delayed_job:active_record` makes it (its own template).
  def self.create_tables
    require "erb"
    src = ERB.new(File.read(MIGRATION)).result_with_hash(migration_version: "[6.1]")
    ActiveRecord::Migration.verbose = false
    eval(src) # rubocop:disable Security/Eval -- DJAR's own generator template, as the fixture did
    CreateDelayedJobs.up
    ActiveRecord::Schema.define do
      create_table :users do |t|
        t.string :name, null: false
        t.string :email
        t.string :locale, default: "en"
        t.timestamps
      end
    end
  end

  # Delayed::Job#name for every row (what jobctl must reproduce), whether the payload loads, whether
# Psych re-dumps the loaded payload to exactly the stored text, plus the stored columns.
  def self.rows
    Delayed::Job.order(:id).map do |job|
      name = begin
        job.name
      rescue Exception => e # rubocop:disable Lint/RescueException -- report, never crash
        "!error: #{e.class}: #{e.message}"
      end
      redump = nil
      loads = begin
        redump = job.payload_object.to_yaml
        true
      rescue Delayed::DeserializationError
        false
      end
      { "id" => job.id, "name" => name, "loads" => loads, "same_yaml" => redump == job.handler, "handler" => job.handler,
        "last_error" => job.last_error, "queue" => job.queue }
    end
  end
end

class User < ActiveRecord::Base
  def send_heavy_report(*_args, **_opts); end
  def deliver_digest; end
  handle_asynchronously :deliver_digest, priority: 20, queue: "digests"
  def self.cleanup(_days = 30); end
  def self.reindex(*_args); end
end

module Billing
  def self.sweep(dry_run: false); end
end

NewsletterJob = Struct.new(:text, :emails) do
  def perform; end
end

FlakyWebhookJob = Struct.new(:url, :payload) do
  def perform; end
end

LongReportJob = Struct.new(:seconds, :label) do
  def perform; end
end

KwJob = Struct.new(:account_id, :mode, keyword_init: true) do
  def perform; end
end

MiscJob = Struct.new(:options, :when, :span, :amount, :tags, :error, :pattern) do
  def perform; end
end

ToxicJob = Struct.new(:payload_id, :note) do
  def perform
    raise "boom: poisoned payload ##{payload_id}"
  end
end

class ImportCsvJob
  def initialize(path, options = {})
    @path = path
    @options = options
  end

  def perform; end

  def queue_name
    "imports"
  end
end

class SyncInventoryJob
  def initialize(sku, warehouse)
    @sku = sku
    @warehouse = warehouse
  end

  def perform; end
end

class UserMailer < ActionMailer::Base
  default from: "noreply@example.com"

  def welcome(user_id = nil, locale = "en")
    mail(to: "u#{user_id}@example.com", subject: "welcome (#{locale})", body: "hi")
  end

  def digest(user = nil)
    mail(to: "digest@example.com", subject: "digest", body: "d")
  end
end

class ExportUsersJob < ActiveJob::Base
  queue_as :exports
  def perform(*_args); end
end

class PurgeUserDataJob < ActiveJob::Base
  queue_as :low
  def perform(_user, days: 30, dry_run: false); end
end

class ChargeCardJob < ActiveJob::Base
  queue_as :billing
  def perform(*_args); end
end

class ReportJob < ActiveJob::Base
  queue_as :reports
  def perform(*_args); end
end
