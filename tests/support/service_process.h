#pragma once
// Runs saldo's binaries as child processes for the tests (the service exactly as users start it),
// and talks HTTP to the service over loopback.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/child_process.h"

namespace saldo::test {

// A binary of this build: "<build dir>/<relative>", e.g. "consumer_service/consumer_service".
// Throws when it does not exist (the tests were built without it).
std::string binary_path(const std::string& relative);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// Polls `condition` every `interval` until it holds or `timeout` passes. Returns whether it held.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20));

struct HttpReply {
  int status = 0;  // 0: no answer (connection refused, timeout)
  std::string body;
  std::multimap<std::string, std::string> headers;
  std::string header(const std::string& name) const;
};
HttpReply http_get(int port, const std::string& path,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

struct CommandResult {
  int exit_code = -1;  // 128+signal when killed by a signal, -1 on timeout (the process was killed)
  std::string out;
  std::string err;
  double seconds = 0;
};
// Runs `argv` with extra environment `env`, feeding `input` to its stdin; kills it at `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = {},
                          const std::vector<std::pair<std::string, std::string>>& env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

// consumer_service as a child process on an ephemeral loopback port, its log in a temp file.
class ServiceProcess {
 public:
  ServiceProcess(const std::string& bootstrap_servers, const std::string& topic,
                 std::vector<std::string> extra_args = {},
                 std::vector<std::pair<std::string, std::string>> env = {});
  ~ServiceProcess();  // SIGKILL if it still runs
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  HttpReply get(const std::string& path) const { return http_get(port_, path); }
  // Waits for GET /ready == 200; false on timeout or if the process died.
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  bool running() const;
  // Sends `sig` and waits up to `timeout` for the exit. Returns the exit code (128+signal when a
  // signal ended it) or nullopt if it still ran at the timeout; `took` gets the time to exit.
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout, std::chrono::milliseconds* took = nullptr);
  std::string log() const;
  long rss_kib() const;  // VmRSS from /proc

 private:
  int port_ = 0;
  std::unique_ptr<ChildProcess> child_;  // mutable state behind const queries such as running()
};

}  // namespace saldo::test
