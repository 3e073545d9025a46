// The native piece of netns mode: what Node.js cannot do itself. Opens sockets inside another network
// namespace (setns on the calling thread and back, no fork), reads SO_ORIGINAL_DST of a REDIRECTed
// connection, and sets SO_MARK. Every function returns or takes plain fds that Node adopts with
// net.Server.listen({ fd }) / dgram / new net.Socket({ fd }).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NAPI_VERSION 8
#include <node_api.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* Linux 4.2; older C libraries lack the name */
#endif

#define PATH_MAX_LEN 512
#define IP_MAX_LEN 64

// Throws a JS Error whose code is the errno name (ENOENT, EPERM, ...) and whose message says which step failed.
static napi_value throw_errno(napi_env env, const char *step, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", step, strerror(err));
  napi_value code, text, error;
  // strerrorname_np arrived in glibc 2.32; elsewhere the code is "E<number>" and the message still says it.
  char fallback[16];
  snprintf(fallback, sizeof fallback, "E%d", err);
  const char *name = fallback;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (strerrorname_np(err)) name = strerrorname_np(err);
#endif
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_value errno_value;
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static int arg_string(napi_env env, napi_value v, char *buf, size_t len) {
  size_t got = 0;
  if (napi_get_value_string_utf8(env, v, buf, len, &got) != napi_ok) return -1;
  return got + 1 < len ? 0 : -1;
}

static int arg_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

// Creates, configures and binds one IPv4 socket in the current namespace. Returns the fd, or -errno
// with *step naming what failed.
static int open_bound(int type, const char *ip, int port, int mark, int backlog, const char **step) {
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) {
    *step = "inet_pton (not an IPv4 address)";
    return -EINVAL;
  }
  int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *step = "socket";
    return -errno;
  }
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
    *step = "setsockopt(SO_REUSEADDR)";
    goto fail;
  }
  if (mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) {
    *step = "setsockopt(SO_MARK)";
    goto fail;
  }
  // A socket the caller connects keeps only the address from bind(); connect() picks the port, unique per
  // destination rather than per source address, and without bind()'s search of every port in use.
  if (type == SOCK_STREAM && port == 0 && backlog == 0 &&
      setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0) {
    *step = "setsockopt(IP_BIND_ADDRESS_NO_PORT)";
    goto fail;
  }
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    *step = "bind";
    goto fail;
  }
  // backlog 0: a bound socket the caller connects (the proxy's own connections out of a pod).
  if (type == SOCK_STREAM && backlog > 0 && listen(fd, backlog) < 0) {
    *step = "listen";
    goto fail;
  }
  return fd;
fail: {
  int err = errno;
  close(fd);
  return -err;
}
}

// Enters the namespace at ns_path on this thread, opens the socket, and returns to the thread's own
// namespace. A thread that cannot return would carry every later socket of the process into the wrong
// namespace, so that one failure aborts.
static int open_in_netns(const char *ns_path, int type, const char *ip, int port, int mark, int backlog,
                         const char **step) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    *step = "open /proc/thread-self/ns/net";
    return -errno;
  }
  int target = open(ns_path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int err = errno;
    close(self);
    *step = "open the namespace file";
    return -err;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int err = errno;
    close(target);
    close(self);
    *step = "setns into the namespace";
    return -err;
  }
  close(target);
  int fd = open_bound(type, ip, port, mark, backlog, step);
  if (setns(self, CLONE_NEWNET) < 0) {
    perror("l4mesh_netns: setns back to the caller's namespace failed");
    abort();
  }
  close(self);
  return fd;
}

// openInNetns(nsPath, kind: 'tcp' | 'udp', ip, port, mark, backlog) -> fd; a TCP socket with backlog 0 is
// bound but not listening, for the caller to connect.
static napi_value OpenInNetns(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 6) return throw_type(env, "openInNetns(nsPath, kind, ip, port, mark, backlog) takes 6 arguments");
  char ns_path[PATH_MAX_LEN], kind[8], ip[IP_MAX_LEN];
  int32_t port, mark, backlog;
  if (arg_string(env, argv[0], ns_path, sizeof ns_path) < 0) return throw_type(env, "nsPath must be a string");
  if (arg_string(env, argv[1], kind, sizeof kind) < 0) return throw_type(env, "kind must be 'tcp' or 'udp'");
  if (arg_string(env, argv[2], ip, sizeof ip) < 0) return throw_type(env, "ip must be a string");
  if (arg_int(env, argv[3], &port) < 0 || port < 0 || port > 65535) return throw_type(env, "port must be 0..65535");
  if (arg_int(env, argv[4], &mark) < 0) return throw_type(env, "mark must be an integer");
  if (arg_int(env, argv[5], &backlog) < 0 || backlog < 0) return throw_type(env, "backlog must be 0 (bind only) or positive");
  int type;
  if (strcmp(kind, "tcp") == 0) type = SOCK_STREAM;
  else if (strcmp(kind, "udp") == 0) type = SOCK_DGRAM;
  else return throw_type(env, "kind must be 'tcp' or 'udp'");
  const char *step = "";
  int fd = open_in_netns(ns_path, type, ip, port, mark, backlog, &step);
  if (fd < 0) return throw_errno(env, step, -fd);
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

// originalDst(fd) -> { address, port }: where a connection REDIRECTed by iptables was going.
static napi_value OriginalDst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc != 1 || arg_int(env, argv[0], &fd) < 0) return throw_type(env, "originalDst(fd) takes one fd");
  struct sockaddr_in dst;
  socklen_t len = sizeof dst;
  memset(&dst, 0, sizeof dst);
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) < 0) return throw_errno(env, "getsockopt(SO_ORIGINAL_DST)", errno);
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &dst.sin_addr, text, sizeof text);
  napi_value result, address, port;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &address);
  napi_create_int32(env, ntohs(dst.sin_port), &port);
  napi_set_named_property(env, result, "address", address);
  napi_set_named_property(env, result, "port", port);
  return result;
}

// setMark(fd, mark): marks a socket so the in-pod rules leave its packets alone.
static napi_value SetMark(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, mark;
  if (argc != 2 || arg_int(env, argv[0], &fd) < 0 || arg_int(env, argv[1], &mark) < 0) {
    return throw_type(env, "setMark(fd, mark) takes two integers");
  }
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) return throw_errno(env, "setsockopt(SO_MARK)", errno);
  return NULL;
}

// getMark(fd) -> mark: lets tests and the self-check read back what setMark did.
static napi_value GetMark(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc != 1 || arg_int(env, argv[0], &fd) < 0) return throw_type(env, "getMark(fd) takes one fd");
  int mark = 0;
  socklen_t len = sizeof mark;
  if (getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len) < 0) return throw_errno(env, "getsockopt(SO_MARK)", errno);
  napi_value result;
  napi_create_int32(env, mark, &result);
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openInNetns", NULL, OpenInNetns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"originalDst", NULL, OriginalDst, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setMark", NULL, SetMark, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getMark", NULL, GetMark, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
