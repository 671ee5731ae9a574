#include "tests/support/service_process.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <thread>

#include <httplib.h>

namespace saldo::test {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::string binary_path(const std::string& relative) {
  std::string path = std::string(SALDO_TEST_BUILD_DIR) + "/" + relative;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("binary not built: " + path);
  return path;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

std::string HttpReply::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

HttpReply http_get(int port, const std::string& path, std::chrono::milliseconds timeout) {
  httplib::Client client("127.0.0.1", port);
  const auto seconds = static_cast<time_t>(timeout.count() / 1000);
  const auto micros = static_cast<time_t>((timeout.count() % 1000) * 1000);
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  HttpReply reply;
  if (auto res = client.Get(path.c_str())) {
    reply.status = res->status;
    reply.body = res->body;
    for (const auto& [k, v] : res->headers) reply.headers.emplace(k, v);
  }
  return reply;
}

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input,
                          const std::vector<std::pair<std::string, std::string>>& env,
                          std::chrono::milliseconds timeout) {
  const std::string in = temp_path("cmd") + ".in";
  std::ofstream(in, std::ios::binary) << input;
  const auto start = Clock::now();
  CommandResult result;
  {
    ChildProcess child(argv, env, in, /*separate_stderr=*/true);
    if (std::optional<int> code = child.wait(timeout)) {
      result.exit_code = *code;
    } else {
      child.kill_group();
      result.exit_code = -1;
    }
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    result.out = child.output();
    result.err = child.error_output();
  }
  ::unlink(in.c_str());
  return result;
}

ServiceProcess::ServiceProcess(const std::string& bootstrap_servers, const std::string& topic,
                               std::vector<std::string> extra_args,
                               std::vector<std::pair<std::string, std::string>> env)
    : port_(free_port()) {
  std::vector<std::string> argv = {binary_path("consumer_service/consumer_service"),
                                   "--bootstrap-servers", bootstrap_servers,
                                   "--topic", topic,
                                   "--http-host", "127.0.0.1",
                                   "--http-port", std::to_string(port_)};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  child_ = std::make_unique<ChildProcess>(argv, env);
}

ServiceProcess::~ServiceProcess() = default;  // the child kills its group if it still runs

bool ServiceProcess::running() const { return child_->running(); }

bool ServiceProcess::wait_ready(std::chrono::milliseconds timeout) const {
  return wait_until([&] { return !running() || get("/ready").status == 200; }, timeout,
                    std::chrono::milliseconds(50)) &&
         running();
}

std::optional<int> ServiceProcess::stop(int sig, std::chrono::milliseconds timeout,
                                        std::chrono::milliseconds* took) {
  const auto start = Clock::now();
  child_->signal(sig);
  std::optional<int> code = child_->wait(timeout);
  if (took) *took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return code;
}

std::string ServiceProcess::log() const { return child_->output(); }

long ServiceProcess::rss_kib() const {
  std::ifstream in("/proc/" + std::to_string(child_->pid()) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace saldo::test
