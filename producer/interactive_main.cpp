// producer_interactive: a prompt that sends one balance at a time and shows where the broker put it.
// Works at a terminal and with piped input (scripts and tests drive it that way).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/codec.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/position_token.h"
#include "common/shutdown.h"
#include "producer/balance_sender.h"
#include "producer/page_link.h"
#include "producer/prompt_line.h"
#include "producer/presets.h"
#include "producer/send_timeout.h"

namespace saldo {
namespace {

constexpr const char* kUsage =
    "producer_interactive [options]: type a customer id and a balance; each is sent at once and the\n"
    "partition and offset the broker confirmed are shown.\n"
    "\n"
    "  echo -e '42\\n123.45\\ndel 7\\nquit' | producer_interactive --bootstrap-servers localhost:9092";

constexpr const char* kHelp =
    "  <id>            start an update: the balance is asked next (or type '<id> <saldo>' on one line)\n"
    "  del <id>        delete the customer (sends a tombstone)\n"
    "  help            this text\n"
    "  quit            flush and leave (end of input does the same)\n"
    "  The commands work at the balance prompt too; an empty line there goes back to the id.\n"
    "  ids: 1 to 64 of [A-Za-z0-9._-]; balances: at most 2 decimals, e.g. -12.50 or -12,50\n";

class Prompt {
 public:
  Prompt(BalanceSender& sender, std::chrono::milliseconds timeout, std::string page_url)
      : sender_(sender), timeout_(timeout), page_url_(std::move(page_url)), tty_(::isatty(STDIN_FILENO) == 1) {}

  // Returns the exit status.
  int loop() {
    if (tty_) std::printf("Sending to topic %s at %s. Type 'help' for commands.\n", sender_.topic().c_str(),
                          sender_.bootstrap_servers().c_str());
    std::string pending;  // the id whose balance "saldo>" is asking for; empty at "cliente_id>"
    for (;;) {
      const PromptAt at = pending.empty() ? PromptAt::kId : PromptAt::kAmount;
      std::optional<std::string> line = ask(at == PromptAt::kId ? "cliente_id> " : "saldo> ");
      if (!line) break;
      const PromptLine p = parse_prompt_line(*line, at, pending);
      using Kind = PromptLine::Kind;
      switch (p.kind) {
        case Kind::kNothing: pending.clear(); continue;
        case Kind::kQuit: break;
        case Kind::kHelp: std::fputs(kHelp, stdout); continue;
        case Kind::kInvalid:
          // A bad balance on the id's own line starts over; at "saldo>" the balance is asked again.
          complain(p.error);
          continue;
        case Kind::kId: pending = p.id; continue;
        case Kind::kDelete:
          pending.clear();
          report(p.id, std::nullopt, sender_.send_and_wait(p.id, std::nullopt, timeout_));
          continue;
        case Kind::kUpdate: {
          pending.clear();
          const std::string value = encode_update({p.id, p.amount, now_timestamp()});
          report(p.id, p.amount, sender_.send_and_wait(p.id, value, timeout_));
          continue;
        }
      }
      break;  // quit
    }
    sender_.close(timeout_);
    if (tty_) std::printf("\n");
    return failures_ == 0 ? 0 : 1;
  }

 private:
  std::optional<std::string> ask(const char* prompt) {
    if (shutdown_requested()) return std::nullopt;
    if (tty_) {
      std::fputs(prompt, stdout);
      std::fflush(stdout);
    }
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    return line;
  }

  void complain(const std::string& message) {
    std::fprintf(stderr, "error: %s\n", message.c_str());
    std::fflush(stderr);
  }

  void report(const std::string& id, std::optional<Centavos> amount, const Delivery& d) {
    if (!d.ok) {
      ++failures_;
      complain("not sent: " + d.error);
      return;
    }
    // On the same line: scripts read one line per command.
    const std::string link = page_link(page_url_, id, d.partition, d.offset);
    const std::string page = link.empty() ? "" : ", page " + link;
    if (amount) {
      std::printf("sent cliente_id=%s saldo=%s -> partition %d, offset %lld, position %s%s\n", id.c_str(),
                  format_money(*amount).c_str(), d.partition, static_cast<long long>(d.offset),
                  format_position_token(d.partition, d.offset).c_str(), page.c_str());
    } else {
      std::printf("deleted cliente_id=%s -> partition %d, offset %lld, position %s%s\n", id.c_str(), d.partition,
                  static_cast<long long>(d.offset), format_position_token(d.partition, d.offset).c_str(), page.c_str());
    }
    std::fflush(stdout);
  }

  BalanceSender& sender_;
  std::chrono::milliseconds timeout_;
  std::string page_url_;
  bool tty_;
  int failures_ = 0;
};

int run(int argc, const char* const argv[]) {
  ConfigLoader loader("producer_interactive", kUsage);
  loader.add_kafka_options();
  loader.add_log_options();
  add_timeout_option(loader, "seconds to wait for the broker and for each acknowledgement");
  loader.env_option("page-url", "PAGE_URL", po::value<std::string>()->default_value("http://localhost:5000/"),
                    "the service's page: after each write a link to it that shows the new value (empty: no link)");
  const std::optional<po::variables_map> vm = loader.parse(argc, argv);
  if (!vm) return 0;

  const KafkaOptions kafka = kafka_options(*vm);
  setup_logging(log_options(*vm), "producer_interactive");
  const std::chrono::milliseconds timeout = timeout_option(*vm);
  install_shutdown_handlers();
  // One record at a time, each awaited: no batching to wait for.
  std::unique_ptr<BalanceSender> sender = open_sender(kafka, Preset::kEventByEvent, timeout);
  return Prompt(*sender, timeout, (*vm)["page-url"].as<std::string>()).loop();
}

}  // namespace
}  // namespace saldo

int main(int argc, char* argv[]) { return saldo::run_main("producer_interactive", saldo::run, argc, argv); }
