// producer: sends balance updates to the compacted topic — a few samples (the original demo), one
// update, a tombstone, a JSON-lines/CSV file, or a reproducible load for benchmarks and demos.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/codec.h"
#include "common/config.h"
#include "common/customer_id.h"
#include "common/logging.h"
#include "common/position_token.h"
#include "common/shutdown.h"
#include "producer/balance_sender.h"
#include "producer/input_file.h"
#include "producer/input_postgres.h"
#include "producer/line_reader.h"
#include "common/postgres.h"
#include "producer/load_generator.h"
#include "producer/presets.h"
#include "producer/send_timeout.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "producer [options]: send customer balances to the compacted Kafka topic (key = cliente_id).\n"
    "\n"
    "  producer                                   send a few sample balances (as the original demo)\n"
    "  producer --id 42 --saldo 123.45            send one balance\n"
    "  producer --delete 42                       delete a customer (a tombstone: null value)\n"
    "  producer --file saldos.csv                 import JSON lines or CSV (cliente_id,saldo[,timestamp])\n"
    "  producer --from-postgres postgresql://user@host/db --query 'select cliente_id, saldo from clientes'\n"
    "                                             one update per row (password: PGPASSWORD or ~/.pgpass)\n"
    "  producer --customers 100000 --updates 1000000 --seed 7 --rate 0 --preset fast\n"
    "                                             reproducible load (--rate 0: as fast as possible)\n"
    "\n"
    "Exit status: 0 all delivered; 1 a delivery failed, a line was rejected or the broker was not\n"
    "reachable within --timeout; 2 bad options; 130 interrupted.";

enum class Mode { kSamples, kOne, kDelete, kFile, kPostgres, kLoad };

struct Args {
  Mode mode = Mode::kSamples;
  Preset preset = Preset::kReliable;
  std::chrono::milliseconds timeout{30000};
  std::string id;
  Centavos saldo = 0;
  std::string file;
  std::string postgres_url;
  std::string query;
  LoadSpec load;
  double rate = 0;
  double duration = 0;
};

Args read_args(const po::variables_map& vm) {
  Args a;
  std::string preset = vm["preset"].as<std::string>();
  auto p = parse_preset(preset);
  if (!p) throw ConfigError("--preset: '" + preset + "' is not reliable, fast or event-by-event");
  a.preset = *p;
  a.timeout = timeout_option(vm);

  int modes = 0;
  if (vm.count("id") || vm.count("saldo")) {
    ++modes;
    a.mode = Mode::kOne;
    if (!vm.count("id") || !vm.count("saldo")) throw ConfigError("--id and --saldo go together");
    a.id = vm["id"].as<std::string>();
    if (!is_valid_customer_id(a.id)) throw ConfigError("--id: '" + a.id + "' is not 1 to 64 of [A-Za-z0-9._-]");
    MoneyError why = MoneyError::kEmpty;
    auto amount = parse_money(vm["saldo"].as<std::string>(), &why);
    if (!amount) throw ConfigError("--saldo: '" + vm["saldo"].as<std::string>() + "': " + std::string(to_string(why)));
    a.saldo = *amount;
  }
  if (vm.count("delete")) {
    ++modes;
    a.mode = Mode::kDelete;
    a.id = vm["delete"].as<std::string>();
    if (!is_valid_customer_id(a.id)) throw ConfigError("--delete: '" + a.id + "' is not 1 to 64 of [A-Za-z0-9._-]");
  }
  if (vm.count("file")) {
    ++modes;
    a.mode = Mode::kFile;
    a.file = vm["file"].as<std::string>();
  }
  if (vm.count("from-postgres") || vm.count("query")) {
    ++modes;
    a.mode = Mode::kPostgres;
    if (!vm.count("from-postgres") || !vm.count("query")) throw ConfigError("--from-postgres and --query go together");
    a.postgres_url = vm["from-postgres"].as<std::string>();
    a.query = vm["query"].as<std::string>();
  }
  if (vm.count("customers") || vm.count("updates") || vm.count("duration")) {
    ++modes;
    a.mode = Mode::kLoad;
    a.load.customers = vm.count("customers") ? vm["customers"].as<std::uint64_t>() : 1000;
    if (a.load.customers == 0) throw ConfigError("--customers: must be at least 1");
    a.duration = vm.count("duration") ? vm["duration"].as<double>() : 0;
    if (a.duration < 0) throw ConfigError("--duration: must not be negative");
    // Without --updates: one per customer, or unlimited when a duration bounds the run.
    a.load.updates = vm.count("updates") ? vm["updates"].as<std::uint64_t>() : (a.duration > 0 ? 0 : a.load.customers);
    a.load.seed = vm["seed"].as<std::uint64_t>();
  }
  a.rate = vm["rate"].as<double>();
  if (a.rate < 0) throw ConfigError("--rate: must not be negative");
  if (modes > 1) throw ConfigError("choose one of --id/--saldo, --delete, --file, --from-postgres or the load options");
  return a;
}

// "2025-10-14T10:30:45" for now, recomputed once a second rather than once a record.
class TimestampClock {
 public:
  const std::string& now() {
    std::time_t t = std::time(nullptr);
    if (t != last_) {
      last_ = t;
      text_ = now_timestamp();
    }
    return text_;
  }

 private:
  std::time_t last_ = 0;
  std::string text_;
};

// A progress line on stderr, only when stderr is a terminal.
class Progress {
 public:
  explicit Progress(const BalanceSender& sender) : sender_(sender), enabled_(::isatty(STDERR_FILENO) == 1) {}
  void tick(bool force = false) {
    if (!enabled_) return;
    auto now = Clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    SendStats s = sender_.stats();
    double secs = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\rsent %llu  delivered %llu  failed %llu  %.0f msg/s   ", static_cast<unsigned long long>(s.sent),
                 static_cast<unsigned long long>(s.delivered), static_cast<unsigned long long>(s.failed),
                 secs > 0 ? static_cast<double>(s.delivered) / secs : 0.0);
    shown_ = true;
  }
  void clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  const BalanceSender& sender_;
  bool enabled_;
  bool shown_ = false;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_{};
};

void send_samples(BalanceSender& sender) {
  TimestampClock clock;
  const std::pair<const char*, Centavos> samples[] = {
      {"1", 15000}, {"2", 230050}, {"3", 9999}, {"4", 0}, {"5", -2575}};
  for (const auto& [id, saldo] : samples) {
    sender.send({id, saldo, clock.now()});
    std::printf("cliente_id=%s saldo=%s\n", id, format_money(saldo).c_str());
  }
}

// Returns the number of rejected lines.
std::uint64_t send_file(BalanceSender& sender, const std::string& path, Progress& progress) {
  std::optional<LineReader> in;
  try {
    in.emplace(path);
  } catch (const std::runtime_error& e) {
    throw ConfigError(std::string("--file: ") + e.what());
  }
  TimestampClock clock;
  BalanceUpdate update;  // reused: its strings keep their storage from line to line
  std::string reason;
  std::uint64_t line_no = 0, rejected = 0;
  while (!shutdown_requested()) {
    const std::optional<std::string_view> line = in->next();
    if (!line) break;
    ++line_no;
    switch (parse_input_line(*line, update, reason)) {
      case LineKind::kBad:
        ++rejected;
        std::fprintf(stderr, "%s:%llu: %s\n", path.c_str(), static_cast<unsigned long long>(line_no), reason.c_str());
        continue;
      case LineKind::kSkipped: continue;
      case LineKind::kUpdate: break;
    }
    if (update.timestamp.empty()) update.timestamp = clock.now();
    sender.send(update);
    // Delivery reports every 1024 lines, as in the load mode: a poll per line takes librdkafka's
    // queue lock for nothing almost every time.
    if ((line_no & 1023) == 0) {
      sender.poll();
      progress.tick();
    }
  }
  return rejected;
}

// Returns the number of rejected rows.
std::uint64_t send_query(BalanceSender& sender, const Args& a, Progress& progress) {
  TimestampClock clock;
  std::uint64_t rejected = 0;
  const std::string where = describe_conninfo(a.postgres_url);
  try {
    read_postgres_rows(a.postgres_url, a.query, [&](std::uint64_t n, InputLine parsed) {
      if (shutdown_requested()) return;
      if (auto* bad = std::get_if<BadLine>(&parsed)) {
        ++rejected;
        std::fprintf(stderr, "row %llu: %s\n", static_cast<unsigned long long>(n), bad->reason.c_str());
        return;
      }
      if (auto* u = std::get_if<BalanceUpdate>(&parsed)) {
        if (u->timestamp.empty()) u->timestamp = clock.now();
        sender.send(*u);
        if ((n & 1023) == 0) {
          sender.poll();
          progress.tick();
        }
      }
    });
  } catch (const PgError& e) {
    throw std::runtime_error("PostgreSQL (" + where + "): " + e.what());
  }
  return rejected;
}

void send_load(BalanceSender& sender, const Args& a, Progress& progress) {
  LoadGenerator gen(a.load);
  TimestampClock clock;
  auto start = Clock::now();
  auto end = a.duration > 0 ? start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.duration))
                            : Clock::time_point::max();
  BalanceUpdate u;
  while (!gen.done() && !shutdown_requested()) {
    auto now = Clock::now();
    if (now >= end) break;
    if (a.rate > 0) {
      // Paced by the schedule, not by sleeps per record, so rounding does not accumulate.
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(static_cast<double>(gen.produced()) / a.rate));
      if (due > now) {
        sender.poll(std::chrono::duration_cast<std::chrono::milliseconds>(due - now));
        if (Clock::now() < due) std::this_thread::sleep_until(due);
      }
    }
    GeneratedUpdate g = gen.next();
    u.cliente_id = std::move(g.cliente_id);
    u.saldo = g.saldo;
    u.timestamp = clock.now();
    if (!sender.send(u) && sender.fatal_error()) break;
    if ((gen.produced() & 1023) == 0) {
      sender.poll();
      progress.tick();
    }
  }
}

int run(int argc, const char* const argv[]) {
  ConfigLoader loader("producer", kUsage);
  loader.add_kafka_options();
  loader.add_log_options();
  loader.options()
      ("preset", po::value<std::string>()->default_value("reliable"), "reliable, fast or event-by-event")
      ("id", po::value<std::string>(), "cliente_id of the one balance to send")
      ("saldo", po::value<std::string>(), "the balance, e.g. 123.45 (at most 2 decimals)")
      ("delete", po::value<std::string>()->value_name("ID"), "send a tombstone for this cliente_id")
      ("file", po::value<std::string>()->value_name("PATH"), "import JSON lines or CSV; bad lines are reported by number")
      ("from-postgres", po::value<std::string>()->value_name("URL"),
       "send one update per row of --query on this PostgreSQL (libpq URI; keep the password in PGPASSWORD or ~/.pgpass)")
      ("query", po::value<std::string>()->value_name("SQL"),
       "with --from-postgres: a query returning cliente_id, saldo[, timestamp]; bad rows are reported by number")
      ("customers", po::value<std::uint64_t>(), "load: number of distinct customers (ids 1..N)")
      ("updates", po::value<std::uint64_t>(), "load: number of updates (default: one per customer; 0 = until --duration)")
      ("seed", po::value<std::uint64_t>()->default_value(1), "load: seed of the ids and amounts")
      ("rate", po::value<double>()->default_value(0), "load: records per second (0 = as fast as possible)")
      ("duration", po::value<double>(), "load: stop after this many seconds");
  add_timeout_option(loader, "seconds to wait for the broker and for the last acknowledgements");
  const std::optional<po::variables_map> vm = loader.parse(argc, argv);
  if (!vm) return 0;

  const Args a = read_args(*vm);
  const KafkaOptions kafka = kafka_options(*vm);
  setup_logging(log_options(*vm), "producer");
  install_shutdown_handlers();
  std::unique_ptr<BalanceSender> sender = open_sender(kafka, a.preset, a.timeout);
  spdlog::info("producing to {} at {} with preset {}", kafka.topic, kafka.bootstrap_servers, to_string(a.preset));

  Progress progress(*sender);
  auto start = Clock::now();
  std::uint64_t rejected = 0;
  Delivery one;  // one record (--id/--delete): where the broker put it, for read-your-writes
  switch (a.mode) {
    case Mode::kSamples: send_samples(*sender); break;
    case Mode::kOne: one = sender->send_and_wait(a.id, encode_update({a.id, a.saldo, now_timestamp()}), a.timeout); break;
    case Mode::kDelete: one = sender->send_and_wait(a.id, std::nullopt, a.timeout); break;
    case Mode::kFile: rejected = send_file(*sender, a.file, progress); break;
    case Mode::kPostgres: rejected = send_query(*sender, a, progress); break;
    case Mode::kLoad: send_load(*sender, a, progress); break;
  }

  // Wait for the acknowledgements, giving up only when none arrives for a whole --timeout.
  std::uint64_t last_done = 0;
  auto last_progress = Clock::now();
  while (sender->in_flight() > 0 && !sender->fatal_error()) {
    sender->poll(std::chrono::milliseconds(100));
    progress.tick();
    SendStats s = sender->stats();
    if (s.delivered + s.failed != last_done) {
      last_done = s.delivered + s.failed;
      last_progress = Clock::now();
    } else if (Clock::now() - last_progress > a.timeout) {
      break;
    }
  }
  sender->close(std::chrono::seconds(1));
  progress.clear();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();

  SendStats s = sender->stats();
  // "position P:O" is the token GET /saldo/<id>?after=P:O takes to read this write back.
  const std::string position = one.ok ? " position " + format_position_token(one.partition, one.offset) : "";
  if (a.mode == Mode::kOne && one.ok) {
    std::printf("cliente_id=%s saldo=%s%s\n", a.id.c_str(), format_money(a.saldo).c_str(), position.c_str());
  }
  if (a.mode == Mode::kDelete && one.ok) std::printf("deleted cliente_id=%s%s\n", a.id.c_str(), position.c_str());
  std::printf("sent %llu, delivered %llu, failed %llu", static_cast<unsigned long long>(s.sent),
              static_cast<unsigned long long>(s.delivered), static_cast<unsigned long long>(s.failed));
  if (a.mode == Mode::kFile) std::printf(", rejected lines %llu", static_cast<unsigned long long>(rejected));
  if (a.mode == Mode::kPostgres) std::printf(", rejected rows %llu", static_cast<unsigned long long>(rejected));
  std::printf(" in %.2f s (%.0f msg/s) to %s at %s\n", secs, secs > 0 ? static_cast<double>(s.delivered) / secs : 0.0,
              kafka.topic.c_str(), kafka.bootstrap_servers.c_str());
  std::fflush(stdout);

  if (s.failed > 0 || s.delivered != s.sent || rejected > 0) return 1;
  if (shutdown_requested()) return 130;
  return 0;
}

}  // namespace
}  // namespace saldo

int main(int argc, char* argv[]) { return saldo::run_main("producer", saldo::run, argc, argv); }
