// Package rtnl is a minimal rtnetlink client for building labs fast: it batches
// requests (many messages per sendmsg, acknowledgements read afterwards), creates
// links with their master, flags and peer namespace in one request, and learns
// interface indexes from the kernel's echo of the creation instead of looking them up.
//
// vishvananda/netlink costs up to five round trips per veth (create, look the index
// up by name, set the master, look up the master, set hairpin); here a veth is one
// message and its configuration one more, both batched with their neighbours.
//
// A Conn is bound to the network namespace of the thread that opened it, for its
// whole life: every request it sends acts in that namespace (or, for a new link's
// peer or the link itself, in the namespace given by file descriptor).
package rtnl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

var native = binary.NativeEndian

// Batch limits: the kernel refuses a sendmsg larger than the socket's send buffer
// (212 KiB by default), and echoed link messages (about 1.5 KiB each) must fit the
// receive buffer until read.
const (
	maxBatchBytes = 32 << 10
	maxBatchOps   = 64
)

// Conn is a NETLINK_ROUTE socket with a batch of pending requests.
type Conn struct {
	fd    int
	seq   uint32
	buf   []byte
	ops   []op
	rbuf  []byte
	first error // first failure of the pending batch
}

// op is one pending request: what it does (for errors) and, for creations, where
// to store the indexes the kernel echoes back.
type op struct {
	seq  uint32
	what string
	echo *Link
	// ignore lists errors that mean success for this request (e.g. EEXIST).
	ignore unix.Errno
}

// Link receives the indexes of a created link: its own and, for a veth, its peer's
// (in the peer's namespace). Valid after the Flush that sent the creation.
type Link struct {
	Index     int32
	PeerIndex int32
}

// Open opens a socket in the calling thread's network namespace.
func Open() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink socket: %w", err)
	}
	// Short acknowledgements (no copy of the request) and the kernel's error text.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind netlink socket: %w", err)
	}
	return &Conn{fd: fd, rbuf: make([]byte, 64<<10)}, nil
}

// Close closes the socket; pending requests are dropped.
func (c *Conn) Close() error {
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}

// Pending is the number of requests not yet flushed.
func (c *Conn) Pending() int { return len(c.ops) }

// begin starts a message; the caller appends its body and attributes, then calls add.
func (c *Conn) begin(typ, flags uint16) int {
	if len(c.buf) >= maxBatchBytes || len(c.ops) >= maxBatchOps {
		// Send what is pending first; its errors are kept for the caller's Flush.
		c.Fail(c.send())
	}
	off := len(c.buf)
	c.seq++
	c.buf = native.AppendUint32(c.buf, 0) // length, set by add
	c.buf = native.AppendUint16(c.buf, typ)
	c.buf = native.AppendUint16(c.buf, flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	c.buf = native.AppendUint32(c.buf, c.seq)
	c.buf = native.AppendUint32(c.buf, 0)
	return off
}

// add finishes the message started at off.
func (c *Conn) add(off int, what string, echo *Link, ignore unix.Errno) {
	native.PutUint32(c.buf[off:], uint32(len(c.buf)-off))
	c.ops = append(c.ops, op{seq: c.seq, what: what, echo: echo, ignore: ignore})
}

// Flush sends every pending request and waits for all their acknowledgements. It
// returns the first failure, naming the request; later requests were still sent (the
// kernel handles each message of a batch on its own), so one error can cause others.
func (c *Conn) Flush() error {
	c.Fail(c.send())
	err := c.first
	c.first = nil
	return err
}

// Fail records an error for the next Flush to return, as if a request had failed;
// callers use it for a request they could not even build.
func (c *Conn) Fail(err error) {
	if err != nil && c.first == nil {
		c.first = err
	}
}

// LinkIndex asks the index of the named link at once (pending requests are sent
// first; their errors stay for Flush).
func (c *Conn) LinkIndex(name string) (int32, error) {
	c.Fail(c.send())
	var l Link
	off := c.begin(unix.RTM_GETLINK, 0)
	c.ifinfo(0, false)
	c.str(unix.IFLA_IFNAME, name)
	c.add(off, "find "+name, &l, 0)
	if err := c.send(); err != nil {
		return 0, err
	}
	if l.Index == 0 {
		return 0, fmt.Errorf("find %s: the kernel did not say its index", name)
	}
	return l.Index, nil
}

func (c *Conn) send() error {
	if len(c.ops) == 0 {
		return nil
	}
	buf, ops := c.buf, c.ops
	// The batch is consumed before new requests reuse the buffers.
	defer func() { c.buf, c.ops = buf[:0], ops[:0] }()
	if err := unix.Sendto(c.fd, buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("%s: send netlink request: %w", ops[0].what, err)
	}
	return c.receive(ops)
}

// receive reads messages until every op of the batch is acknowledged.
func (c *Conn) receive(ops []op) error {
	bySeq := make(map[uint32]*op, len(ops))
	for i := range ops {
		bySeq[ops[i].seq] = &ops[i]
	}
	var first error
	for left := len(ops); left > 0; {
		n, _, err := unix.Recvfrom(c.fd, c.rbuf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("%s: read netlink answer: %w", ops[0].what, err)
		}
		for msg := c.rbuf[:n]; len(msg) >= unix.NLMSG_HDRLEN; {
			l := int(native.Uint32(msg))
			if l < unix.NLMSG_HDRLEN || l > len(msg) {
				return fmt.Errorf("%s: malformed netlink answer", ops[0].what)
			}
			typ, seq := native.Uint16(msg[4:]), native.Uint32(msg[8:])
			o := bySeq[seq]
			switch {
			case o == nil:
				// An answer to an earlier, abandoned batch: not ours to judge.
			case typ == unix.NLMSG_ERROR:
				if err := ackError(msg[:l], o); err != nil && first == nil {
					first = err
				}
				delete(bySeq, seq)
				left--
			case typ == unix.RTM_NEWLINK && o.echo != nil:
				parseLink(msg[unix.NLMSG_HDRLEN:l], o.echo)
			}
			msg = msg[min(nlAlign(l), len(msg)):]
		}
	}
	return first
}

// ackError turns an NLMSG_ERROR message into nil (a plain ack) or an error naming
// the request, with the kernel's own explanation when it gave one.
func ackError(msg []byte, o *op) error {
	if len(msg) < unix.NLMSG_HDRLEN+4 {
		return fmt.Errorf("%s: short netlink acknowledgement", o.what)
	}
	code := int32(native.Uint32(msg[unix.NLMSG_HDRLEN:]))
	if code == 0 || unix.Errno(-code) == o.ignore && o.ignore != 0 {
		return nil
	}
	errno := unix.Errno(-code)
	text := ""
	if native.Uint16(msg[6:])&unix.NLM_F_ACK_TLVS != 0 {
		// Attributes follow the echoed request header (NETLINK_CAP_ACK: header only).
		text = extAckText(msg[unix.NLMSG_HDRLEN+4+unix.NLMSG_HDRLEN:])
	}
	if text != "" {
		return fmt.Errorf("%s: %w (kernel: %s)", o.what, errno, text)
	}
	return fmt.Errorf("%s: %w", o.what, errno)
}

func extAckText(attrs []byte) string {
	for len(attrs) >= 4 {
		l, typ := int(native.Uint16(attrs)), native.Uint16(attrs[2:])
		if l < 4 || l > len(attrs) {
			return ""
		}
		if typ == unix.NLMSGERR_ATTR_MSG {
			s := attrs[4:l]
			for len(s) > 0 && s[len(s)-1] == 0 {
				s = s[:len(s)-1]
			}
			return string(s)
		}
		attrs = attrs[min(nlAlign(l), len(attrs)):]
	}
	return ""
}

// parseLink reads the index and IFLA_LINK (a veth's peer index) of a link message.
func parseLink(body []byte, into *Link) {
	if len(body) < unix.SizeofIfInfomsg {
		return
	}
	into.Index = int32(native.Uint32(body[4:]))
	for attrs := body[unix.SizeofIfInfomsg:]; len(attrs) >= 4; {
		l, typ := int(native.Uint16(attrs)), native.Uint16(attrs[2:])&^unix.NLA_F_NESTED
		if l < 4 || l > len(attrs) {
			return
		}
		if typ == unix.IFLA_LINK && l >= 8 {
			into.PeerIndex = int32(native.Uint32(attrs[4:]))
		}
		attrs = attrs[min(nlAlign(l), len(attrs)):]
	}
}

func nlAlign(n int) int { return (n + 3) &^ 3 }

// IsExist reports whether err is the kernel's "already exists".
func IsExist(err error) bool { return errors.Is(err, os.ErrExist) || errors.Is(err, unix.EEXIST) }
