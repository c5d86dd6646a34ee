package wasip1

// The layouts and flag values of wasi_snapshot_preview1 (its witx), in one
// place.

// Filetype is a WASI file type.
type filetype uint8

const (
	filetypeUnknown filetype = iota
	filetypeBlockDevice
	filetypeCharacterDevice
	filetypeDirectory
	filetypeRegularFile
	filetypeSocketDgram
	filetypeSocketStream
	filetypeSymbolicLink
)

// fdflags.
const (
	fdflagAppend   = 1 << 0
	fdflagDsync    = 1 << 1
	fdflagNonblock = 1 << 2
	fdflagRsync    = 1 << 3
	fdflagSync     = 1 << 4
)

// oflags of path_open.
const (
	oflagCreat     = 1 << 0
	oflagDirectory = 1 << 1
	oflagExcl      = 1 << 2
	oflagTrunc     = 1 << 3
)

// lookupflags.
const lookupSymlinkFollow = 1 << 0

// fstflags of the *_set_times calls.
const (
	fstAtim    = 1 << 0
	fstAtimNow = 1 << 1
	fstMtim    = 1 << 2
	fstMtimNow = 1 << 3
)

// whence of fd_seek.
const (
	whenceSet = 0
	whenceCur = 1
	whenceEnd = 2
)

// clockid.
const (
	clockRealtime         = 0
	clockMonotonic        = 1
	clockProcessCputimeID = 2
	clockThreadCputimeID  = 3
)

// rights: one bit per call that an fd may be used for.
const (
	rightFdDatasync = 1 << iota
	rightFdRead
	rightFdSeek
	rightFdFdstatSetFlags
	rightFdSync
	rightFdTell
	rightFdWrite
	rightFdAdvise
	rightFdAllocate
	rightPathCreateDirectory
	rightPathCreateFile
	rightPathLinkSource
	rightPathLinkTarget
	rightPathOpen
	rightFdReaddir
	rightPathReadlink
	rightPathRenameSource
	rightPathRenameTarget
	rightPathFilestatGet
	rightPathFilestatSetSize
	rightPathFilestatSetTimes
	rightFdFilestatGet
	rightFdFilestatSetSize
	rightFdFilestatSetTimes
	rightPathSymlink
	rightPathRemoveDirectory
	rightPathUnlinkFile
	rightPollFdReadwrite
	rightSockShutdown
	rightSockAccept
)

const (
	rightsAll uint64 = 1<<30 - 1

	// rightsFile are what a regular file may be used for.
	rightsFile uint64 = rightFdDatasync | rightFdRead | rightFdSeek | rightFdFdstatSetFlags |
		rightFdSync | rightFdTell | rightFdWrite | rightFdAdvise | rightFdAllocate |
		rightFdFilestatGet | rightFdFilestatSetSize | rightFdFilestatSetTimes | rightPollFdReadwrite

	// rightsDir are what a directory may be used for; files opened
	// beneath it inherit rightsDir|rightsFile.
	rightsDir uint64 = rightFdFdstatSetFlags | rightFdSync | rightFdDatasync |
		rightPathCreateDirectory | rightPathCreateFile | rightPathLinkSource |
		rightPathLinkTarget | rightPathOpen | rightFdReaddir | rightPathReadlink |
		rightPathRenameSource | rightPathRenameTarget | rightPathFilestatGet |
		rightPathFilestatSetSize | rightPathFilestatSetTimes | rightFdFilestatGet |
		rightFdFilestatSetTimes | rightPathSymlink | rightPathRemoveDirectory |
		rightPathUnlinkFile | rightPollFdReadwrite

	// rightsStream are a pipe's or a terminal's: a file that cannot seek.
	rightsStream uint64 = rightsFile &^ (rightFdSeek | rightFdTell | rightFdAllocate | rightFdAdvise)

	// rightsSocket are a socket's.
	rightsSocket uint64 = rightFdRead | rightFdWrite | rightFdFdstatSetFlags | rightFdFilestatGet |
		rightPollFdReadwrite | rightSockShutdown | rightSockAccept

	// rightsWrite are everything a read-only preopen takes away: whatever
	// changes a file or a directory.
	rightsWrite uint64 = rightFdDatasync | rightFdWrite | rightFdAllocate |
		rightPathCreateDirectory | rightPathCreateFile | rightPathLinkSource |
		rightPathLinkTarget | rightPathRenameSource | rightPathRenameTarget |
		rightPathFilestatSetSize | rightPathFilestatSetTimes | rightFdFilestatSetSize |
		rightFdFilestatSetTimes | rightPathSymlink | rightPathRemoveDirectory |
		rightPathUnlinkFile
)

// Sizes and offsets of the structures the calls read and write.
const (
	sizeIovec        = 8
	sizeFdstat       = 24
	sizeFilestat     = 64
	sizeDirentHeader = 24
	sizeSubscription = 48
	sizeEvent        = 32
)

// Subscription and event types of poll_oneoff.
const (
	eventtypeClock   = 0
	eventtypeFdRead  = 1
	eventtypeFdWrite = 2

	subclockAbstime = 1 << 0
	eventHangup     = 1 << 0
)

// Socket call flags.
const (
	riflagRecvPeek      = 1 << 0
	riflagRecvWaitall   = 1 << 1
	roflagDataTruncated = 1 << 0
	sdflagRd            = 1 << 0
	sdflagWr            = 1 << 1
)

// WasmEdge's socket extension (docs/wasmedge-sockets.md): its enums count
// from unspec/any = 0, unlike Linux's.
const (
	afUnspec = 0
	afInet4  = 1
	afInet6  = 2
	afUnix   = 3

	socktypeAny    = 0
	socktypeDgram  = 1
	socktypeStream = 2

	protoIP  = 0
	protoTCP = 1
	protoUDP = 2

	// sizeAddress is an address record {u32 buf; u32 buf_len}; its
	// buffer holds 4 or 16 address bytes, or sizeAddrStorage bytes of
	// the V2 storage form: the family as a u16, then the address.
	sizeAddress     = 8
	sizeAddrStorage = 128

	// sock_getsockopt and sock_setsockopt: one level, fifteen names.
	solSocket = 0

	soReuseaddr    = 0
	soType         = 1
	soError        = 2
	soDontroute    = 3
	soBroadcast    = 4
	soSndbuf       = 5
	soRcvbuf       = 6
	soKeepalive    = 7
	soOobinline    = 8
	soLinger       = 9
	soRcvlowat     = 10
	soRcvtimeo     = 11
	soSndtimeo     = 12
	soAcceptconn   = 13
	soBindtodevice = 14

	// sock_getaddrinfo's records: __wasi_addrinfo_t and
	// __wasi_sockaddr_t, and the hint flags.
	sizeAddrinfo = 28
	sizeSockaddr = 12

	aiPassive     = 1 << 0
	aiCanonname   = 1 << 1
	aiNumerichost = 1 << 2
	aiNumericserv = 1 << 3
	aiV4mapped    = 1 << 4
	aiAll         = 1 << 5
	aiAddrconfig  = 1 << 6
)
