#include "tests/support/service_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <httplib.h>

extern char** environ;

namespace saldo::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string temp_path(const std::string& stem) {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp && *tmp ? tmp : "/tmp") + "/saldo-test-" + stem + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter++);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// fork+exec with stdin/stdout/stderr redirected to files; the child gets its own process group.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& env,
            const std::string& in_path, const std::string& out_path, const std::string& err_path) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    int in = ::open(in_path.c_str(), O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | (err_path == out_path ? O_APPEND : O_TRUNC), 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

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
  const std::string base = temp_path("cmd");
  const std::string in = base + ".in", out = base + ".out", err = base + ".err";
  std::ofstream(in, std::ios::binary) << input;
  const auto start = Clock::now();
  pid_t pid = spawn(argv, env, in, out, err);
  CommandResult result;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      result.exit_code = decode_status(status);
      break;
    }
    if (Clock::now() - start > timeout) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      result.exit_code = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.out = read_file(out);
  result.err = read_file(err);
  ::unlink(in.c_str());
  ::unlink(out.c_str());
  ::unlink(err.c_str());
  return result;
}

ServiceProcess::ServiceProcess(const std::string& bootstrap_servers, const std::string& topic,
                               std::vector<std::string> extra_args,
                               std::vector<std::pair<std::string, std::string>> env)
    : port_(free_port()), log_path_(temp_path("service") + ".log") {
  std::vector<std::string> argv = {binary_path("consumer_service/consumer_service"),
                                   "--bootstrap-servers", bootstrap_servers,
                                   "--topic", topic,
                                   "--http-host", "127.0.0.1",
                                   "--http-port", std::to_string(port_)};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn(argv, env, "/dev/null", log_path_, log_path_);
}

ServiceProcess::~ServiceProcess() {
  if (running()) {
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  ::unlink(log_path_.c_str());
}

bool ServiceProcess::running() const {
  if (exit_code_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    const_cast<ServiceProcess*>(this)->exit_code_ = decode_status(status);
    return false;
  }
  return true;
}

bool ServiceProcess::wait_ready(std::chrono::milliseconds timeout) const {
  return wait_until([&] { return !running() || get("/ready").status == 200; }, timeout,
                    std::chrono::milliseconds(50)) &&
         running();
}

std::optional<int> ServiceProcess::stop(int sig, std::chrono::milliseconds timeout,
                                        std::chrono::milliseconds* took) {
  const auto start = Clock::now();
  if (running()) ::kill(pid_, sig);
  wait_until([&] { return !running(); }, timeout, std::chrono::milliseconds(5));
  if (took) *took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return exit_code_;
}

std::string ServiceProcess::log() const { return read_file(log_path_); }

long ServiceProcess::rss_kib() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace saldo::test
