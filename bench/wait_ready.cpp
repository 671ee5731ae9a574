// wait_ready: blocks until a service answers GET /ready with 200, polling over one keep-alive
// connection, and prints nothing else. bench/run.sh and bench/rebuild_breakdown.sh time a cold
// rebuild with it: their old loop started a curl process every 10 ms, ~10 ms of CPU each on this
// machine, so the stopwatch took up to half a core from the rebuild it was timing (the raw reader,
// its yardstick, has no such cost). One request here costs microseconds.
//
//   wait_ready --port P [--host H] [--pid PID] [--timeout S] [--interval-ms MS]
//
// Exit status: 0 READY; 1 the process --pid exited first; 2 bad arguments; 3 not READY in time.
#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <httplib.h>

namespace {

constexpr std::string_view kUsage =
    "usage: wait_ready --port P [--host H] [--pid PID] [--timeout S] [--interval-ms MS]\n"
    "  Polls http://H:P/ready (H: 127.0.0.1) over one keep-alive connection every MS ms (default 5)\n"
    "  until it answers 200. Exit 0: READY; 1: process PID exited first; 2: bad arguments;\n"
    "  3: not READY within S seconds (default 900).\n";

struct Args {
  std::string host = "127.0.0.1";
  int port = 0;
  long pid = 0;
  double timeout_s = 900;
  int interval_ms = 5;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage.data(), stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) throw std::invalid_argument(std::string(flag) + " needs a value");
    const std::string v = argv[++i];
    // std::stoi and its kin throw invalid_argument / out_of_range with no word of which option.
    const auto number = [&](auto convert) {
      try {
        return convert(v);
      } catch (const std::logic_error&) {
        throw std::invalid_argument(std::string(flag) + ": not a number: '" + v + "'");
      }
    };
    if (flag == "--host") a.host = v;
    else if (flag == "--port") a.port = number([](const std::string& s) { return std::stoi(s); });
    else if (flag == "--pid") a.pid = number([](const std::string& s) { return std::stol(s); });
    else if (flag == "--timeout") a.timeout_s = number([](const std::string& s) { return std::stod(s); });
    else if (flag == "--interval-ms") a.interval_ms = number([](const std::string& s) { return std::stoi(s); });
    else throw std::invalid_argument("unknown option " + std::string(flag));
  }
  if (a.port <= 0 || a.port > 65535) throw std::invalid_argument("--port must be 1..65535");
  if (a.interval_ms <= 0 || a.timeout_s <= 0) throw std::invalid_argument("--interval-ms and --timeout must be positive");
  return a;
}

// A process that exited but was not reaped yet (its parent is the script waiting on us) is a zombie:
// kill(pid, 0) still succeeds for it, /proc/PID/stat says 'Z'.
bool alive(long pid) {
  if (pid <= 0) return true;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');  // the command name may hold spaces and parentheses
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  try {
    a = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wait_ready: %s\n%s", e.what(), kUsage.data());
    return 2;
  }
  httplib::Client client(a.host, a.port);
  client.set_keep_alive(true);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(2));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(a.timeout_s);
  for (;;) {
    if (const auto res = client.Get("/ready"); res && res->status == 200) return 0;
    if (!alive(a.pid)) {
      std::fprintf(stderr, "wait_ready: process %ld exited before %s:%d/ready answered 200\n", a.pid,
                   a.host.c_str(), a.port);
      return 1;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::fprintf(stderr, "wait_ready: %s:%d/ready not 200 within %g s\n", a.host.c_str(), a.port, a.timeout_s);
      return 3;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(a.interval_ms));
  }
}
