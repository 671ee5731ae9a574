// bare_http_server: cpp-httplib with exactly the service's server settings (configure_http_server),
// answering every GET with a fixed body the size of a typical GET /saldo reply. bench/run.sh puts
// it next to the service under the same wrk load: the HTTP library's own limit on this machine.
//
//   bare_http_server --port P [--threads N]
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

#include <httplib.h>

#include "consumer_service/http/http_server.h"

namespace {

httplib::Server* g_server = nullptr;

extern "C" void on_signal(int) {
  // stop() only flips flags and shuts the listening socket down: safe enough for a bench tool.
  if (g_server) g_server->stop();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    saldo::HttpServerOptions options;
    options.host = "127.0.0.1";
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string_view flag = argv[i];
      if (flag == "--port") options.port = std::stoi(argv[i + 1]);
      else if (flag == "--threads") options.threads = std::stoi(argv[i + 1]);
      else throw std::invalid_argument("unknown option " + std::string(flag));
    }
    httplib::Server server;
    int listen_fd = -1;
    saldo::configure_http_server(server, options, listen_fd);
    const std::string body =
        "{\"cliente_id\":\"4711\",\"saldo\":12345.67,\"timestamp\":\"2025-10-14T10:30:45\",\"partition\":1,"
        "\"offset\":1234567}";
    server.set_pre_routing_handler([&body](const httplib::Request&, httplib::Response& res) {
      res.set_content(body, "application/json; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    });
    const int port = saldo::bind_http_server(server, options, listen_fd);
    g_server = &server;
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::printf("bare_http_server listening on 127.0.0.1:%d\n", port);
    std::fflush(stdout);
    server.listen_after_bind();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bare_http_server: %s\n", e.what());
    return 2;
  }
}
