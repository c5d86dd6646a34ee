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
