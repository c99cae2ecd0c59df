#define _GNU_SOURCE
#include <sched.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <net/if.h>

// The network-namespace calls, which Swift's Glibc module does not carry.
static inline int berth_enter_network_namespace(int fd) { return setns(fd, CLONE_NEWNET); }
static inline int berth_new_network_namespace(void) { return unshare(CLONE_NEWNET); }
