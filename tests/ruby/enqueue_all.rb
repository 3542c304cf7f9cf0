# Enqueue one job of every kind through the real APIs into a fresh database, then print what
# Delayed Job says about each row (see app.rb). Used by tests/test_ruby_interop.py.
#   ruby tests/ruby/enqueue_all.rb sqlite3:/tmp/x.sqlite3     (or a postgresql:// URL)
require_relative "app"

JobctlInterop.connect(ARGV.fetch(0))
JobctlInterop.create_tables
Time.zone = "Eastern Time (US & Canada)"

ada = User.create!(name: "Ada Lovelace", email: "ada@example.com", locale: "en")
grace = User.create!(name: "Grace Hopper", email: "grace@example.com", locale: "ja")
gone = User.create!(name: "To Be Deleted", email: "gone@example.com", locale: "ar")
taro = User.create!(name: "东京 太郎", email: nil, locale: "de")

# PerformableMethod on a record, on a class, via handle_asynchronously, on a module
ada.delay.send_heavy_report(:pdf, since: Time.zone.local(2024, 1, 2, 3, 4, 5), "limit" => 10)
User.delay(queue: "low", priority: 5).cleanup(14)
grace.deliver_digest
Billing.delay(queue: "billing").sweep(dry_run: true)
User.select(:id, :email).find(taro.id).delay(queue: "low").send_heavy_report("only id+email")
dirty = User.find(grace.id)
dirty.name = "Grace (edited)"
dirty.delay.send_heavy_report(:csv)
# Struct jobs, a keyword_init Struct, a plain object job, odd Ruby types inside a Struct
Delayed::Job.enqueue NewsletterJob.new("lorem ipsum \"quoted\" ü 😀", ["a@example.com", "b@example.com"]),
                     queue: "mailers"
Delayed::Job.enqueue KwJob.new(account_id: 7, mode: :fast)
Delayed::Job.enqueue ImportCsvJob.new("/srv/imports/next.csv", "exists" => true, :rows => 5, "big" => 2**64)
Delayed::Job.enqueue SyncInventoryJob.new("SKU-1", nil), queue: "default", priority: -3
Delayed::Job.enqueue MiscJob.new(ActiveSupport::HashWithIndifferentAccess.new(kind: :csv, raw: "\xFF\xFEbin".b),
                                 Date.new(2024, 5, 1), 1...3, BigDecimal("12.5"), Set[1, 2],
                                 RuntimeError.new("kaput"), /ab+c/i)
# PerformableMailer: class receiver and parameterized mailer
UserMailer.delay(queue: "mailers").welcome(ada.id, "ja")
UserMailer.with(locale: "fr", ref: :promo).delay(queue: "mailers").welcome(ada.id)
# ActiveJob: GlobalID, symbols, symbol keys, TimeWithZone, kwargs, set(wait:), odd strings, mailers
ExportUsersJob.perform_later(ada, :full, { "fmt" => "csv", limit: 5 }, Time.zone.local(2024, 1, 2, 3, 4, 5))
ExportUsersJob.set(wait: 10.minutes, priority: 3).perform_later(grace, :brief)
PurgeUserDataJob.perform_later(taro, days: 7, dry_run: true)
ChargeCardJob.perform_later(2, 750.5, "USD \"q\" \\ \n\t ü 😀 \u200b \#{x} \e", nil, true, [1, [2.0e-5, 1e20]],
                            { "nested" => { "k" => :sym, "big" => 2**70 } }, -0.0)
ReportJob.set(queue: nil).perform_later("weekly")
UserMailer.with(ref: "promo").welcome(ada.id).deliver_later
UserMailer.digest(grace).deliver_later(queue: "mailers")

# A job whose record is deleted before a worker runs it: DJ fails it with DeserializationError
gone.delay(queue: "low").send_heavy_report("csv")
gone.destroy
Delayed::Worker.new.run(Delayed::Job.order(:id).last)
# Rows real apps end up with: a class that no longer exists, a truncated/unparseable handler
now = Time.now.utc
Delayed::Job.insert_all([
  { handler: "--- !ruby/object:LegacyBillingJob\ninvoice_id: 991\n", run_at: now, created_at: now, updated_at: now,
    priority: 0, attempts: 0, queue: "billing" },
  { handler: "--- !ruby/object:Delayed::PerformableMethod\nobject: !ruby/class 'User'\nmethod_name: [:clea",
    run_at: now, created_at: now, updated_at: now, priority: 0, attempts: 0, queue: "low" },
])

puts JSON.generate(JobctlInterop.rows)
