#pragma once
// SIGHUP as "re-read your files" (tokens, certificates): the handler only sets a flag, the main
// loop takes it and reloads from its own thread.
namespace saldo {

// Installs the SIGHUP handler. Safe to call more than once.
void install_reload_handler();
// True once per SIGHUP (or request_reload()) since the last call.
bool take_reload_request() noexcept;
void request_reload() noexcept;

}  // namespace saldo
