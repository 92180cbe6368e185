// netsig's native additions to the cap package (libpcap):
//  - stats(fd): the kernel's statistics of a packet socket (getsockopt
//    PACKET_STATISTICS), which libpcap's pcap_stats reads and cap does not
//    expose. The kernel resets the counters at each read, so the caller adds
//    them up. Returns [packets, drops], or null on error.
//  - setSnaplen(n): the snapshot length cap's next open() uses. cap always
//    asks libpcap for 65535; in immediate mode each ring frame is then ~64 KiB
//    on lo and "any", so a 64 MB buffer holds ~1000 packets. This file defines
//    pcap_set_snaplen; loaded with RTLD_GLOBAL (drops.ts) it comes first in the
//    dynamic linker's search, so cap's call lands here and goes on to
//    libpcap's with the snapshot length set here.

#define _GNU_SOURCE
#include <node_api.h>
#include <dlfcn.h>
#include <sys/socket.h>
#include <linux/if_packet.h>

static int snaplen_override = 0;

typedef int (*set_snaplen_fn)(void *p, int snaplen);

int pcap_set_snaplen(void *p, int snaplen) {
  static set_snaplen_fn real = NULL;
  if (real == NULL) {
    // libpcap is loaded by now (cap links it): find it without loading anything
    const char *names[] = { "libpcap.so.0.8", "libpcap.so.1", "libpcap.so", NULL };
    for (int i = 0; names[i] != NULL && real == NULL; i++) {
      void *h = dlopen(names[i], RTLD_NOW | RTLD_NOLOAD);
      if (h != NULL) real = (set_snaplen_fn)dlsym(h, "pcap_set_snaplen");
    }
    if (real == NULL) return -1;
  }
  return real(p, snaplen_override > 0 ? snaplen_override : snaplen);
}

static napi_value SetSnaplen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  if (napi_get_value_int32(env, argv[0], &n) != napi_ok) return NULL;
  snaplen_override = n;
  return NULL;
}

static napi_value Stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value out = NULL;
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok) return NULL;
  struct tpacket_stats_v3 st = {0};
  socklen_t len = sizeof(st);
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
    napi_get_null(env, &out);
    return out;
  }
  napi_value packets, drops;
  napi_create_array_with_length(env, 2, &out);
  napi_create_uint32(env, st.tp_packets, &packets);
  napi_create_uint32(env, st.tp_drops, &drops);
  napi_set_element(env, out, 0, packets);
  napi_set_element(env, out, 1, drops);
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "stats", NAPI_AUTO_LENGTH, Stats, NULL, &fn);
  napi_set_named_property(env, exports, "stats", fn);
  napi_create_function(env, "setSnaplen", NAPI_AUTO_LENGTH, SetSnaplen, NULL, &fn);
  napi_set_named_property(env, exports, "setSnaplen", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
