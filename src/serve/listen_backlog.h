// The accept backlog of the service's listening socket.
//
// Debian's cpp-httplib is a compiled library that listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG,
// fixed when the library was built, so a define in this project cannot change it). A burst of more
// simultaneous connections than that overflows the queue: Linux drops the extra SYNs and those clients
// wait for TCP's one-second retransmission before they are even accepted. Linux lets listen() be called
// again on a listening socket to change its backlog, which is what widen_listen_backlog() does.
#pragma once

namespace skintriage {

/// Calls listen(fd, backlog) again on this process's listening TCP sockets bound to `port`.
/// Returns how many sockets it changed (0 when none listens there).
int widen_listen_backlog(int port, int backlog);

/// The accept backlog the kernel applies to this process's listening TCP socket on `port` (Linux: from
/// TCP_INFO), or -1 when there is none or the system does not say.
int listen_backlog(int port);

}  // namespace skintriage
