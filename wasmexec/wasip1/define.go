package wasip1

// call is one WASI function: its parameters ('i' i32, 'I' i64; every call
// returns an i32 errno but proc_exit) and its body, which sees guest
// memory through v and its arguments in a.
type call struct {
	name   string
	params string
	fn     func(h *Host, v view, a args) Errno
	// alt marks the second form of a name (WasmEdge's sock_accept of
	// two arguments, the V2 forms of three calls under their plain
	// names): defined only for a module that imports the name with its
	// signature (DefineFor).
	alt bool
}

// calls lists every wasi_snapshot_preview1 function: preview 1's own,
// then WasmEdge's socket extension (wasmedge.go, docs/wasip1-host.md).
var calls = []call{
	{"args_get", "ii", (*Host).argsGet, false},
	{"args_sizes_get", "ii", (*Host).argsSizesGet, false},
	{"environ_get", "ii", (*Host).environGet, false},
	{"environ_sizes_get", "ii", (*Host).environSizesGet, false},
	{"clock_res_get", "ii", (*Host).clockResGet, false},
	{"clock_time_get", "iIi", (*Host).clockTimeGet, false},
	{"fd_advise", "iIIi", (*Host).fdAdvise, false},
	{"fd_allocate", "iII", (*Host).fdAllocate, false},
	{"fd_close", "i", (*Host).fdClose, false},
	{"fd_datasync", "i", (*Host).fdDatasync, false},
	{"fd_fdstat_get", "ii", (*Host).fdFdstatGet, false},
	{"fd_fdstat_set_flags", "ii", (*Host).fdFdstatSetFlags, false},
	{"fd_fdstat_set_rights", "iII", (*Host).fdFdstatSetRights, false},
	{"fd_filestat_get", "ii", (*Host).fdFilestatGet, false},
	{"fd_filestat_set_size", "iI", (*Host).fdFilestatSetSize, false},
	{"fd_filestat_set_times", "iIIi", (*Host).fdFilestatSetTimes, false},
	{"fd_pread", "iiiIi", (*Host).fdPread, false},
	{"fd_prestat_get", "ii", (*Host).fdPrestatGet, false},
	{"fd_prestat_dir_name", "iii", (*Host).fdPrestatDirName, false},
	{"fd_pwrite", "iiiIi", (*Host).fdPwrite, false},
	{"fd_read", "iiii", (*Host).fdRead, false},
	{"fd_readdir", "iiiIi", (*Host).fdReaddir, false},
	{"fd_renumber", "ii", (*Host).fdRenumber, false},
	{"fd_seek", "iIii", (*Host).fdSeek, false},
	{"fd_sync", "i", (*Host).fdSync, false},
	{"fd_tell", "ii", (*Host).fdTell, false},
	{"fd_write", "iiii", (*Host).fdWrite, false},
	{"path_create_directory", "iii", (*Host).pathCreateDirectory, false},
	{"path_filestat_get", "iiiii", (*Host).pathFilestatGet, false},
	{"path_filestat_set_times", "iiiiIIi", (*Host).pathFilestatSetTimes, false},
	{"path_link", "iiiiiii", (*Host).pathLink, false},
	{"path_open", "iiiiiIIii", (*Host).pathOpen, false},
	{"path_readlink", "iiiiii", (*Host).pathReadlink, false},
	{"path_remove_directory", "iii", (*Host).pathRemoveDirectory, false},
	{"path_rename", "iiiiii", (*Host).pathRename, false},
	{"path_symlink", "iiiii", (*Host).pathSymlink, false},
	{"path_unlink_file", "iii", (*Host).pathUnlinkFile, false},
	{"poll_oneoff", "iiii", (*Host).pollOneoff, false},
	{"proc_raise", "i", (*Host).procRaise, false},
	{"sched_yield", "", (*Host).schedYield, false},
	{"random_get", "ii", (*Host).randomGet, false},
	{"sock_accept", "iii", (*Host).sockAccept, false},
	{"sock_recv", "iiiiii", (*Host).sockRecv, false},
	{"sock_send", "iiiii", (*Host).sockSend, false},
	{"sock_shutdown", "ii", (*Host).sockShutdown, false},

	// WasmEdge's socket extension: V1 under the plain names (as
	// WasmEdge binds them), V2 under the _v2 names, and the V2 form of
	// the names whose signatures differ as an alternative.
	{"sock_accept", "ii", (*Host).sockAcceptV1, true},
	{"sock_accept_v2", "iii", (*Host).sockAccept, false},
	{"sock_open", "iii", (*Host).sockOpen, false},
	{"sock_open_v2", "iii", (*Host).sockOpen, false},
	{"sock_bind", "iii", (*Host).sockBindV1, false},
	{"sock_bind_v2", "iii", (*Host).sockBindV2, false},
	{"sock_connect", "iii", (*Host).sockConnectV1, false},
	{"sock_connect_v2", "iii", (*Host).sockConnectV2, false},
	{"sock_listen", "ii", (*Host).sockListen, false},
	{"sock_listen_v2", "ii", (*Host).sockListen, false},
	{"sock_recv_v2", "iiiiii", (*Host).sockRecv, false},
	{"sock_send_v2", "iiiii", (*Host).sockSend, false},
	{"sock_recv_from", "iiiiiii", (*Host).sockRecvFromV1, false},
	{"sock_recv_from", "iiiiiiii", (*Host).sockRecvFromV2, true},
	{"sock_recv_from_v2", "iiiiiiii", (*Host).sockRecvFromV2, false},
	{"sock_send_to", "iiiiiii", (*Host).sockSendToV1, false},
	{"sock_send_to_v2", "iiiiiii", (*Host).sockSendToV2, false},
	{"sock_getlocaladdr", "iiii", (*Host).sockGetLocalAddrV1, false},
	{"sock_getlocaladdr", "iii", (*Host).sockGetLocalAddrV2, true},
	{"sock_getlocaladdr_v2", "iii", (*Host).sockGetLocalAddrV2, false},
	{"sock_getpeeraddr", "iiii", (*Host).sockGetPeerAddrV1, false},
	{"sock_getpeeraddr", "iii", (*Host).sockGetPeerAddrV2, true},
	{"sock_getpeeraddr_v2", "iii", (*Host).sockGetPeerAddrV2, false},
	{"sock_getsockopt", "iiiii", (*Host).sockGetsockopt, false},
	{"sock_setsockopt", "iiiii", (*Host).sockSetsockopt, false},
	{"sock_getaddrinfo", "iiiiiiii", (*Host).sockGetaddrinfo, false},
}
