"""Which `Host` headers the studio answers: its own, so DNS rebinding fails.

A web page elsewhere can make its own name (`evil.example`) resolve to this
machine's address ("DNS rebinding"); the browser then sends the studio
requests that look same-origin, but with `Host: evil.example`. The studio
answers only Host headers naming this machine: the address the request
reached (whatever `--host` is, `0.0.0.0` included), its loopback names, its
host name (and `<name>.local`, the same machine on the local network), and
the names the user lists in `--allowed_hosts`. Everything else gets 400.
"""

import ipaddress
import socket

from magenta_style.studio.config import host_names

LOOPBACK = ("localhost", "127.0.0.1", "::1")


def own_names(host, allowed_hosts=""):
    """The Host names (lower case, no port) the studio answers to on any connection.

    Args:
        host: the `--host` it listens on.
        allowed_hosts: the `--allowed_hosts` value (comma-separated names).

    Returns:
        A frozenset of names; `host_problem` also takes the address each
        connection reached.
    """
    names = set(LOOPBACK) | set(host_names(allowed_hosts))
    if host not in ("", "0.0.0.0", "::"):
        names.add(_bare(host))
    try:
        machine = socket.gethostname().lower()
    except OSError:
        machine = ""
    if machine:
        names.update((machine, f"{machine}.local"))
    return frozenset(names)


def _bare(address):
    """An address or name as compared: lower case, no brackets, no trailing dot,
    an IPv4 address mapped into IPv6 (`::ffff:10.0.0.2`) as its IPv4 form."""
    address = address.strip().lower().strip("[]").rstrip(".")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def header_host(value):
    """The name in a Host header value: '[::1]:8000' -> '::1', 'A.example:80' -> 'a.example'."""
    value = value.strip()
    if value.startswith("["):
        return _bare(value[:value.find("]") + 1] if "]" in value else value)
    if value.count(":") == 1:
        value = value.split(":")[0]
    return _bare(value)


def host_problem(scope, headers, names):
    """Why a request's Host is not the studio's (a line), else None.

    Args:
        scope: the ASGI scope; `scope["server"]` is the local address the
            connection reached (this machine's, by definition).
        headers: the request's headers, names lower case.
        names: `own_names(...)`.
    """
    given = headers.get("host")
    if given is None:
        return "no Host header"
    host = header_host(given)
    server = scope.get("server")
    if host in names or (server and host == _bare(str(server[0]))):
        return None
    return f"Host: {given}"
