#include "serve/listen_backlog.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace skintriage {
namespace {

int local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  return -1;
}

bool is_listening_stream(int fd) {
  int type = 0, accepting = 0;
  socklen_t len = sizeof(type);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return false;
  len = sizeof(accepting);
  return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 && accepting != 0;
}

/// This process's listening TCP sockets on `port`, found through /proc/self/fd (the library keeps its
/// socket private).
std::vector<int> listening_sockets(int port) {
  std::vector<int> fds;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    char* rest = nullptr;
    long fd = std::strtol(name.c_str(), &rest, 10);
    if (rest == name.c_str() || *rest != '\0') continue;
    if (is_listening_stream(static_cast<int>(fd)) && local_port(static_cast<int>(fd)) == port)
      fds.push_back(static_cast<int>(fd));
  }
  return fds;
}

}  // namespace

int widen_listen_backlog(int port, int backlog) {
  int changed = 0;
  for (int fd : listening_sockets(port))
    if (::listen(fd, backlog) == 0) ++changed;
  return changed;
}

int listen_backlog(int port) {
#ifdef TCP_INFO
  for (int fd : listening_sockets(port)) {
    tcp_info info{};
    socklen_t len = sizeof(info);
    // For a listening socket Linux reports the maximum accept backlog in tcpi_sacked.
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0) return static_cast<int>(info.tcpi_sacked);
  }
#endif
  return -1;
}

}  // namespace skintriage
