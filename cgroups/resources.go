package cgroups

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The shim writes linux.resources to the cgroup files itself, in the order
// and with the rules runc follows, rather than through the cgroup
// library's resource writers: the library writes every field that is
// present (a 0 in cpu.rt_period_us is EINVAL, which nerdctl sends on every
// run), drops fields runc applies (cpu burst and idle, a pids limit of -1
// on v1, hugetlb reservations, all but the first rdma device on v1) and
// converts some differently (v2 io weight, cpu.max). The library still
// creates the directories, places processes, keeps cpuset's parents
// filled in on v1, and compiles the v2 device filter.
// docs/resources.md lists every field and what each version does with it.

// ErrUnifiedOnV1 is runc's answer to linux.resources.unified on a host
// without cgroup v2: the keys name cgroup2 files, which v1 does not have.
var ErrUnifiedOnV1 = errors.New("linux.resources.unified needs cgroup v2; this host uses cgroup v1")

// write is one value written to one cgroup file.
type write struct {
	// ctrl is the v1 hierarchy that holds the file; "" on v2.
	ctrl  string
	file  string
	value string
	// optional writes are skipped where the kernel lacks the file, as runc
	// skips them (cpu burst on older kernels, hugetlb reservations, swap
	// when swap accounting is off).
	optional bool
	// retry marks a write the kernel may refuse (EINVAL) until a partner
	// value written after it is in place (period and quota, memory and
	// memory+swap): it is tried again after the rest.
	retry bool
	// alt is the file and value to write when file does not exist (v1's
	// blkio.weight is blkio.bfq.weight under BFQ; v2 falls back from
	// io.bfq.weight to io.weight, on another scale).
	alt *write
	// readBack fails the write when the kernel clamped the value, as runc
	// does for cpu.shares.
	readBack bool
}

func (w write) String() string {
	if w.ctrl != "" {
		return w.ctrl + "/" + w.file + "=" + w.value
	}
	return w.file + "=" + w.value
}

// orZero is the value p points at, or 0 for nil: runc takes a
// 0 in a numeric field as "unset".
func orZero[T int64 | uint64 | uint16 | uint32](p *T) T {
	if p == nil {
		return 0
	}
	return *p
}

func itoa(v int64) string  { return strconv.FormatInt(v, 10) }
func utoa(v uint64) string { return strconv.FormatUint(v, 10) }

// pidsMax is the value runc writes to pids.max for a limit, or "" for
// none: a positive limit as is, a negative one as "max". A 0 is unset as
// runc up to 1.4 reads it (nerdctl and Docker send 0 for "no limit"; runc
// 1.5 writes it as 1, which no Go program, the shim's task included, can
// start under).
func pidsMax(p *specs.LinuxPids) string {
	if p == nil {
		return ""
	}
	switch limit := orZero(p.Limit); {
	case limit > 0:
		return itoa(limit)
	case limit < 0:
		return "max"
	}
	return ""
}

// swappiness is the value for memory.swappiness, or "" to leave it: -1
// arrives as the largest uint64 and means "the default".
func swappiness(m *specs.LinuxMemory) (string, error) {
	if m == nil || m.Swappiness == nil || *m.Swappiness == math.MaxUint64 {
		return "", nil
	}
	if s := *m.Swappiness; s > 100 {
		return "", fmt.Errorf("memory swappiness %d: the valid range is 0-100", s)
	}
	return utoa(*m.Swappiness), nil
}

// throttles lists blockIO's throttle lists with the names v1 and v2 use,
// in runc's order.
func throttles(b *specs.LinuxBlockIO) []struct {
	v1, v2 string
	list   []specs.LinuxThrottleDevice
} {
	return []struct {
		v1, v2 string
		list   []specs.LinuxThrottleDevice
	}{
		{"blkio.throttle.read_bps_device", "rbps", b.ThrottleReadBpsDevice},
		{"blkio.throttle.write_bps_device", "wbps", b.ThrottleWriteBpsDevice},
		{"blkio.throttle.read_iops_device", "riops", b.ThrottleReadIOPSDevice},
		{"blkio.throttle.write_iops_device", "wiops", b.ThrottleWriteIOPSDevice},
	}
}

// hugetlbWrites are runc's writes for hugepage limits: the limit, and the
// same for reservations where the kernel has them (5.7 and later).
func hugetlbWrites(ctrl, suffix string, limits []specs.LinuxHugepageLimit) []write {
	var ws []write
	for _, l := range limits {
		prefix := "hugetlb." + l.Pagesize
		ws = append(ws,
			write{ctrl: ctrl, file: prefix + suffix, value: utoa(l.Limit)},
			write{ctrl: ctrl, file: prefix + ".rsvd" + suffix, value: utoa(l.Limit), optional: true})
	}
	return ws
}

// rdmaWrites are one rdma.max line per device, in the device names' order
// so that a plan is the same from run to run.
func rdmaWrites(ctrl string, rdma map[string]specs.LinuxRdma) []write {
	ws := make([]write, 0, len(rdma))
	for _, name := range slices.Sorted(maps.Keys(rdma)) {
		l := rdma[name]
		line := name
		if l.HcaHandles != nil {
			line += " hca_handle=" + utoa(uint64(*l.HcaHandles))
		}
		if l.HcaObjects != nil {
			line += " hca_object=" + utoa(uint64(*l.HcaObjects))
		}
		ws = append(ws, write{ctrl: ctrl, file: "rdma.max", value: line})
	}
	return ws
}

// defaultDevices are the device rules runc appends to every container's
// (libcontainer/specconv AllowedDevices): mknod of any device, the
// character devices every program may open (null, zero, full, random,
// urandom, tty), the pty multiplexer and pty slaves, and /dev/net/tun.
// A spec that denies all devices and allows none (ctr's default) leaves
// the task these, as runc does.
var defaultDevices = []specs.LinuxDeviceCgroup{
	{Allow: true, Type: "c", Access: "m"},
	{Allow: true, Type: "b", Access: "m"},
	{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(8)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(7)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(5)), Minor: ptr(int64(0)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(5)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(9)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(136)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(5)), Minor: ptr(int64(2)), Access: "rwm"},
	{Allow: true, Type: "c", Major: ptr(int64(10)), Minor: ptr(int64(200)), Access: "rwm"},
}

func ptr[T any](v T) *T { return &v }

// deviceRules checks the spec's device rules as runc does (a type of a, b
// or c, an access that is not empty) and appends runc's defaults. No rules
// at all stay none: nothing is controlled, which allows every device.
func deviceRules(rules []specs.LinuxDeviceCgroup) ([]specs.LinuxDeviceCgroup, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	out := make([]specs.LinuxDeviceCgroup, 0, len(rules)+len(defaultDevices))
	for i, d := range rules {
		switch d.Type {
		case "":
			d.Type = "a"
		case "a", "b", "c":
		default:
			return nil, fmt.Errorf("linux.resources.devices[%d]: device type %q: want a, b or c", i, d.Type)
		}
		if d.Access == "" {
			return nil, fmt.Errorf("linux.resources.devices[%d]: empty access", i)
		}
		if strings.Trim(d.Access, "rwm") != "" {
			return nil, fmt.Errorf("linux.resources.devices[%d]: access %q: want letters of rwm", i, d.Access)
		}
		out = append(out, d)
	}
	return append(out, defaultDevices...), nil
}
