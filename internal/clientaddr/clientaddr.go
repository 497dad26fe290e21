// Package clientaddr names the client behind a remote address the way
// per-client limits count it: the failed-authentication limiter and the
// content server's connection caps.
package clientaddr

import (
	"net"
	"net/netip"
)

// Key is the client of remote (host:port, or a bare host): an IPv4
// address (IPv4-mapped IPv6 too) as is, an IPv6 one as its /64 (one host
// is commonly given a whole /64 and may send from any address in it);
// what is no IP address (a unix socket's name) is kept.
func Key(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return remote
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
