#include "tests/faults/fault_support.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace saldo::test {
namespace {

using Clock = std::chrono::steady_clock;

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::vector<std::pair<std::string, std::string>>& env) {
  static std::atomic<int> counter{0};
  out_path_ = env_or("TMPDIR", "/tmp") + "/saldo-fault-child-" + std::to_string(::getpid()) + "-" +
              std::to_string(counter++) + ".log";
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    ::setpgid(0, 0);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (running()) {
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  ::unlink(out_path_.c_str());
}

bool ChildProcess::running() {
  if (exit_code_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = decode_status(status);
    return false;
  }
  return true;
}

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  wait_until([&] { return !running(); }, timeout, std::chrono::milliseconds(5));
  return exit_code_;
}

std::string ChildProcess::output() const {
  std::ifstream in(out_path_, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string source_dir() { return env_or("SALDO_SOURCE_DIR", SALDO_TEST_SOURCE_DIR); }

OwnBroker::OwnBroker()
    : port_(std::stoi(env_or("SALDO_TEST_FAULT_KAFKA_PORT", "19492"))),
      data_dir_(env_or("TMPDIR", "/tmp") + "/saldo-fault-kafka-" + std::to_string(port_)) {
  std::filesystem::remove_all(data_dir_);
}

OwnBroker::~OwnBroker() {
  try {
    stop();
    std::filesystem::remove_all(data_dir_);
  } catch (...) {
  }
}

CommandResult OwnBroker::script(const std::string& verb) {
  return run_command({"/bin/bash", source_dir() + "/scripts/kafka-local.sh", verb}, {},
                     {{"KAFKA_PORT", std::to_string(port_)}, {"KAFKA_DATA_DIR", data_dir_}, {"KAFKA_HEAP", "512m"}},
                     std::chrono::seconds(120));
}

void OwnBroker::start() {
  const CommandResult r = script("start");
  if (r.exit_code != 0) throw std::runtime_error("kafka-local.sh start failed: " + r.out + r.err);
}

void OwnBroker::kill() {
  const CommandResult r = script("kill");
  if (r.exit_code != 0) throw std::runtime_error("kafka-local.sh kill failed: " + r.out + r.err);
}

void OwnBroker::stop() { script("stop"); }

std::optional<double> metric(const std::string& exposition, const std::string& name_and_labels) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > name_and_labels.size() && line.compare(0, name_and_labels.size(), name_and_labels) == 0 &&
        line[name_and_labels.size()] == ' ') {
      return std::stod(line.substr(name_and_labels.size() + 1));
    }
  }
  return std::nullopt;
}

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  return fd;
}

RawHttp::RawHttp(int port) : port_(port) { reconnect(); }
RawHttp::~RawHttp() { close(); }

void RawHttp::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

void RawHttp::reconnect() {
  close();
  fd_ = connect_loopback(port_);
}

bool RawHttp::send_all(const std::string& bytes) {
  std::size_t done = 0;
  while (fd_ >= 0 && done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return fd_ >= 0;
}

int RawHttp::get(const std::string& target, std::chrono::milliseconds timeout) {
  if (fd_ < 0) reconnect();
  if (fd_ < 0) return 0;
  // A server may answer (414, 400) and close before it read everything: the answer still counts.
  send_all("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto head_end = buffer_.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::size_t length = 0;
      const auto cl = buffer_.find("Content-Length: ");
      if (cl != std::string::npos && cl < head_end) length = std::stoul(buffer_.substr(cl + 16));
      if (buffer_.size() >= head_end + 4 + length) {
        const int status = buffer_.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(buffer_.substr(9, 3)) : -1;
        const bool closes = buffer_.substr(0, head_end).find("Connection: close") != std::string::npos;
        buffer_.erase(0, head_end + 4 + length);
        if (closes) close();
        return status;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  close();
  return 0;
}

}  // namespace saldo::test
