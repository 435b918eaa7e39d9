"""A real SMTP server on 127.0.0.1 for tests/cli/notify.rs (aiosmtpd).

STARTTLS (required) or implicit TLS with the certificate the test made,
and AUTH (PLAIN/LOGIN) required, only over TLS. Each accepted message is
parsed with Python's email package and written as one JSON line to --out:
the envelope, whether the session was TLS and authenticated, the decoded
subject, every header, and the text and HTML parts.

--refuse-once ADDR refuses that recipient (550) the first time it is given;
--drop-once ADDR closes the connection, without an answer, the first time a
message for it arrives. Prints "READY <port>" once it accepts connections,
and stops after --lifetime seconds at most.
"""

import argparse
import asyncio
import email
import email.policy
import json
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["starttls", "tls"], default="starttls")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--refuse-once", action="append", default=[])
    p.add_argument("--drop-once", action="append", default=[])
    p.add_argument("--lifetime", type=float, default=300)
    a = p.parse_args()

    refuse, drop = set(a.refuse_once), set(a.drop_once)
    lock = threading.Lock()

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            with lock:
                if address in refuse:
                    refuse.discard(address)
                    return "550 5.1.1 <%s>: mailbox unavailable" % address
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            with lock:
                hit = [r for r in envelope.rcpt_tos if r in drop]
                for r in hit:
                    drop.discard(r)
            if hit:
                server.transport.close()
                return "421 4.3.0 closing"
            msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            text = msg.get_body(preferencelist=("plain",))
            html = msg.get_body(preferencelist=("html",))
            line = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                "authenticated": bool(session.authenticated),
                "subject": str(msg["Subject"]),
                "headers": [[k, str(v)] for k, v in msg.items()],
                "raw_headers": envelope.original_content.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace"),
                "text": text.get_content() if text is not None else None,
                "html": html.get_content() if html is not None else None,
            }
            with lock, open(a.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
            return "250 2.0.0 queued"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == a.user.encode() and auth_data.password == a.password.encode()
        return AuthResult(success=ok, handled=False)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    common = dict(hostname="127.0.0.1", port=port, authenticator=authenticator, auth_required=True, auth_require_tls=True)
    if a.mode == "starttls":
        controller = Controller(Handler(), tls_context=ctx, require_starttls=True, **common)
    else:
        # With implicit TLS the whole session is TLS, but aiosmtpd 1.4 counts
        # only STARTTLS for auth_require_tls, so it would never offer AUTH.
        common["auth_require_tls"] = False
        controller = Controller(Handler(), ssl_context=ctx, **common)
    controller.start()
    print("READY %d" % port, flush=True)
    try:
        done = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
        done.wait(a.lifetime)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
