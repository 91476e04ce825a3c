//! Sets `TCP_NODELAY` on the process's TCP sockets after sqlx opens a connection.
//!
//! sqlx 0.9.0 stopped setting it (sqlx issue #4335; fixed upstream, not yet released). Without
//! it, Nagle's algorithm holds the tail of a statement until the server's delayed ACK, about
//! 40 ms, on most round trips: measured here, an unchanged 1,000-product batch took 55 ms
//! instead of 13 ms. sqlx does not expose its socket, so this walks `/proc/self/fd` and sets the
//! option on every TCP socket that lacks it; that is harmless for the process's other TCP
//! sockets (HTTP and NATS clients set it themselves). Remove once sqlx sets it again.

/// Turns Nagle's algorithm off on every TCP socket of this process. Best effort: descriptors
/// that are not TCP sockets, or that close meanwhile, are skipped.
#[cfg(target_os = "linux")]
pub(super) fn disable_nagle_on_tcp_sockets() {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<libc::c_int>().ok())
        else {
            continue;
        };
        set_nodelay(fd);
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn disable_nagle_on_tcp_sockets() {}

#[cfg(target_os = "linux")]
fn set_nodelay(fd: libc::c_int) {
    let mut current: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: plain system calls on an integer descriptor with pointers to live locals of the
    // sizes passed. A descriptor that is not a TCP socket makes getsockopt fail (ENOTSOCK,
    // EOPNOTSUPP, EBADF) and is skipped; no Rust object's ownership of the descriptor is touched.
    let read = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&mut current as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if read != 0 || current != 0 {
        return;
    }
    let on: libc::c_int = 1;
    // SAFETY: as above; `on` outlives the call and its size is passed.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn tcp_sockets_of_the_process_get_nodelay() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        stream.set_nodelay(false).unwrap();
        disable_nagle_on_tcp_sockets();
        assert!(stream.nodelay().unwrap());
        assert!(stream.as_raw_fd() > 0);
    }
}
