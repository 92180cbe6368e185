// netsig's one native function: the kernel's statistics of a packet socket
// (getsockopt PACKET_STATISTICS), which libpcap's pcap_stats reads and the
// cap package does not expose. The kernel resets the counters at each read,
// so the caller adds them up. Returns [packets, drops], or null on error.

#include <node_api.h>
#include <sys/socket.h>
#include <linux/if_packet.h>

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
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
