package wasip1

// call is one WASI function: its parameters ('i' i32, 'I' i64; every call
// returns an i32 errno but proc_exit) and its body, which sees guest
// memory through v and its arguments in a.
type call struct {
	name   string
	params string
	fn     func(h *Host, v view, a args) Errno
}

// calls lists every wasi_snapshot_preview1 function.
var calls = []call{
	{"args_get", "ii", (*Host).argsGet},
	{"args_sizes_get", "ii", (*Host).argsSizesGet},
	{"environ_get", "ii", (*Host).environGet},
	{"environ_sizes_get", "ii", (*Host).environSizesGet},
	{"clock_res_get", "ii", (*Host).clockResGet},
	{"clock_time_get", "iIi", (*Host).clockTimeGet},
	{"fd_advise", "iIIi", (*Host).fdAdvise},
	{"fd_allocate", "iII", (*Host).fdAllocate},
	{"fd_close", "i", (*Host).fdClose},
	{"fd_datasync", "i", (*Host).fdDatasync},
	{"fd_fdstat_get", "ii", (*Host).fdFdstatGet},
	{"fd_fdstat_set_flags", "ii", (*Host).fdFdstatSetFlags},
	{"fd_fdstat_set_rights", "iII", (*Host).fdFdstatSetRights},
	{"fd_filestat_get", "ii", (*Host).fdFilestatGet},
	{"fd_filestat_set_size", "iI", (*Host).fdFilestatSetSize},
	{"fd_filestat_set_times", "iIIi", (*Host).fdFilestatSetTimes},
	{"fd_pread", "iiiIi", (*Host).fdPread},
	{"fd_prestat_get", "ii", (*Host).fdPrestatGet},
	{"fd_prestat_dir_name", "iii", (*Host).fdPrestatDirName},
	{"fd_pwrite", "iiiIi", (*Host).fdPwrite},
	{"fd_read", "iiii", (*Host).fdRead},
	{"fd_readdir", "iiiIi", (*Host).fdReaddir},
	{"fd_renumber", "ii", (*Host).fdRenumber},
	{"fd_seek", "iIii", (*Host).fdSeek},
	{"fd_sync", "i", (*Host).fdSync},
	{"fd_tell", "ii", (*Host).fdTell},
	{"fd_write", "iiii", (*Host).fdWrite},
	{"path_create_directory", "iii", (*Host).pathCreateDirectory},
	{"path_filestat_get", "iiiii", (*Host).pathFilestatGet},
	{"path_filestat_set_times", "iiiiIIi", (*Host).pathFilestatSetTimes},
	{"path_link", "iiiiiii", (*Host).pathLink},
	{"path_open", "iiiiiIIii", (*Host).pathOpen},
	{"path_readlink", "iiiiii", (*Host).pathReadlink},
	{"path_remove_directory", "iii", (*Host).pathRemoveDirectory},
	{"path_rename", "iiiiii", (*Host).pathRename},
	{"path_symlink", "iiiii", (*Host).pathSymlink},
	{"path_unlink_file", "iii", (*Host).pathUnlinkFile},
	{"poll_oneoff", "iiii", (*Host).pollOneoff},
	{"proc_raise", "i", (*Host).procRaise},
	{"sched_yield", "", (*Host).schedYield},
	{"random_get", "ii", (*Host).randomGet},
	{"sock_accept", "iii", (*Host).sockAccept},
	{"sock_recv", "iiiiii", (*Host).sockRecv},
	{"sock_send", "iiiii", (*Host).sockSend},
	{"sock_shutdown", "ii", (*Host).sockShutdown},
}
