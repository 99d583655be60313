"""Mailer contract: one suite, every adapter (.eml outbox on tmp_path, SES on moto)."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest

from stratus.platform.ports.errors import (
    BackendUnavailableError,
    InvalidRequestError,
    MailRejectedError,
)
from stratus.platform.ports.mail import Attachment, Email, Mailer

VERIFIED = "noreply@example.com"
VERIFIED_DOMAIN = "verified.org"

Sent = Callable[[], list[EmailMessage]]


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def an_email(**changes: Any) -> Email:
    fields: dict[str, Any] = {
        "sender": VERIFIED,
        "to": ["ann@customer.test"],
        "subject": "Your report",
        "text": "Hello Ann",
    }
    fields.update(changes)
    return Email(**fields)


class MailerContract:
    """What every Mailer adapter must do. Subclasses provide ``mailer`` (with VERIFIED and
    the domain VERIFIED_DOMAIN verified) and ``sent`` (the messages accepted so far)."""

    def test_a_verified_sender_is_accepted_with_a_message_id(
        self, mailer: Mailer, sent: Sent
    ) -> None:
        first = mailer.send(an_email())
        second = mailer.send(an_email())

        assert first
        assert second
        assert first != second
        assert len(sent()) == 2

    def test_an_address_in_a_verified_domain_may_send(self, mailer: Mailer, sent: Sent) -> None:
        mailer.send(an_email(sender="billing@verified.org"))

        assert [m["From"] for m in sent()] == ["billing@verified.org"]

    def test_a_sender_with_a_display_name_is_checked_by_its_address(
        self, mailer: Mailer, sent: Sent
    ) -> None:
        mailer.send(an_email(sender=f"Stratus Reports <{VERIFIED}>"))

        assert sent()[0]["From"].addresses[0].addr_spec == VERIFIED

    def test_an_unverified_sender_is_rejected_and_nothing_is_sent(
        self, mailer: Mailer, sent: Sent
    ) -> None:
        with pytest.raises(MailRejectedError):
            mailer.send(an_email(sender="someone@elsewhere.test"))

        assert sent() == []

    def test_a_subdomain_of_a_verified_domain_is_not_verified(self, mailer: Mailer) -> None:
        with pytest.raises(MailRejectedError):
            mailer.send(an_email(sender="x@mail.verified.org"))

    def test_headers_and_both_bodies_arrive(self, mailer: Mailer, sent: Sent) -> None:
        mailer.send(
            an_email(
                to=["ann@customer.test", "bob@customer.test"],
                cc=["boss@customer.test"],
                reply_to=["help@example.com"],
                subject="Rapport — janvier",
                text="plain body",
                html="<p>html body</p>",
            )
        )

        (msg,) = sent()
        assert msg["Subject"] == "Rapport — janvier"
        assert [a.addr_spec for a in msg["To"].addresses] == [
            "ann@customer.test",
            "bob@customer.test",
        ]
        assert msg["Cc"] == "boss@customer.test"
        assert msg["Reply-To"] == "help@example.com"
        body_text = msg.get_body(("plain",))
        body_html = msg.get_body(("html",))
        assert body_text is not None
        assert body_html is not None
        assert body_text.get_content().strip() == "plain body"
        assert body_html.get_content().strip() == "<p>html body</p>"

    def test_attachments_arrive_with_name_type_and_bytes(self, mailer: Mailer, sent: Sent) -> None:
        pdf = bytes(range(256)) * 10
        mailer.send(
            an_email(
                attachments=[
                    Attachment("report.pdf", pdf, "application/pdf"),
                    Attachment("data.csv", b"a,b\n1,2\n", "text/csv"),
                ]
            )
        )

        (msg,) = sent()
        parts = list(msg.iter_attachments())
        assert [p.get_filename() for p in parts] == ["report.pdf", "data.csv"]
        assert [p.get_content_type() for p in parts] == ["application/pdf", "text/csv"]
        assert parts[0].get_payload(decode=True) == pdf
        assert parts[1].get_payload(decode=True) == b"a,b\n1,2\n"

    def test_an_attachment_name_with_a_line_break_is_an_invalid_request(
        self, mailer: Mailer, sent: Sent
    ) -> None:
        with pytest.raises(InvalidRequestError):
            mailer.send(an_email(attachments=[Attachment("a\nBcc: x@y.test", b"x")]))
        assert sent() == []

    def test_an_email_without_recipients_is_an_invalid_request(
        self, mailer: Mailer, sent: Sent
    ) -> None:
        with pytest.raises(InvalidRequestError):
            mailer.send(an_email(to=[]))
        assert sent() == []

    @pytest.mark.parametrize(
        "changes",
        [
            {"to": ["not-an-address"]},
            {"to": ["ann@"]},
            {"cc": ["two@@signs.test"]},
            {"sender": "nobody"},
            {"to": ["ann@customer.test\nBcc: evil@x.test"]},
        ],
    )
    def test_a_malformed_address_is_an_invalid_request(
        self, mailer: Mailer, sent: Sent, changes: dict[str, Any]
    ) -> None:
        with pytest.raises(InvalidRequestError):
            mailer.send(an_email(**changes))
        assert sent() == []


# -- the outbox adapter --------------------------------------------------------------


class FakeSmtpServer(socketserver.ThreadingTCPServer):
    """A loopback SMTP server speaking just enough of RFC 5321 for smtplib.

    Recipients in ``refuse`` get ``550``; everything accepted lands in ``received``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse: set[str] = set()


class _SmtpHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server = cast(FakeSmtpServer, self.server)
        sender, rcpts = "", []
        self.wfile.write(b"220 fake ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].split(":", 1)[0].upper()
            if verb in {"EHLO", "HELO"}:
                self.wfile.write(b"250-fake\r\n250 8BITMIME\r\n")
            elif verb == "MAIL":
                sender = command.split(":", 1)[1].strip().split()[0].strip("<>")
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                rcpt = command.split(":", 1)[1].strip().strip("<>")
                if rcpt in server.refuse:
                    self.wfile.write(b"550 no such user\r\n")
                else:
                    rcpts.append(rcpt)
                    self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go ahead\r\n")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                server.received.append((sender, rcpts, data))
                sender, rcpts = "", []
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class TestOutboxMailer(MailerContract):
    @pytest.fixture
    def mailer(self, tmp_path: Path) -> Mailer:
        from stratus.platform.adapters.local.mail import OutboxMailer

        return OutboxMailer(tmp_path / "outbox", verified=[VERIFIED, VERIFIED_DOMAIN])

    @pytest.fixture
    def sent(self, tmp_path: Path) -> Sent:
        return lambda: [parse(p.read_bytes()) for p in sorted((tmp_path / "outbox").glob("*.eml"))]

    def test_each_message_is_an_eml_file_named_by_time_and_message_id(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.mail import OutboxMailer

        mailer = OutboxMailer(tmp_path / "out", verified=[VERIFIED])

        first = mailer.send(an_email())
        second = mailer.send(an_email())

        paths = mailer.messages()
        assert [p.name.split("-", 1)[1] for p in paths] == [f"{first}.eml", f"{second}.eml"]
        assert paths[0].name[:8].isdigit()
        assert parse(paths[0].read_bytes())["Message-ID"] == f"<{first}>"
        assert [p.name for p in (tmp_path / "out").iterdir() if not p.name.endswith(".eml")] == []

    def test_an_identity_verified_later_may_send(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.mail import OutboxMailer

        mailer = OutboxMailer(tmp_path / "out")
        with pytest.raises(MailRejectedError):
            mailer.send(an_email())

        mailer.verify("Example.COM")

        assert mailer.send(an_email())

    @pytest.mark.parametrize("identity", ["", "nodot", "a b.com", "@example.com"])
    def test_verifying_something_that_is_no_address_or_domain_is_an_invalid_request(
        self, tmp_path: Path, identity: str
    ) -> None:
        from stratus.platform.adapters.local.mail import OutboxMailer

        with pytest.raises(InvalidRequestError):
            OutboxMailer(tmp_path / "out").verify(identity)

    def test_with_an_smtp_url_the_message_is_also_relayed(
        self, tmp_path: Path, smtp_server: FakeSmtpServer
    ) -> None:
        from stratus.platform.adapters.local.mail import OutboxMailer

        host, port = str(smtp_server.server_address[0]), smtp_server.server_address[1]
        mailer = OutboxMailer(
            tmp_path / "out", verified=[VERIFIED], smtp_url=f"smtp://{host}:{port}"
        )

        message_id = mailer.send(an_email(cc=["cc@customer.test"]))

        ((sender, rcpts, data),) = smtp_server.received
        assert sender == VERIFIED
        assert rcpts == ["ann@customer.test", "cc@customer.test"]
        assert parse(data)["Message-ID"] == f"<{message_id}>"
        assert len(mailer.messages()) == 1

    def test_a_recipient_the_smtp_server_refuses_is_a_rejection(
        self, tmp_path: Path, smtp_server: FakeSmtpServer
    ) -> None:
        from stratus.platform.adapters.local.mail import OutboxMailer

        smtp_server.refuse.add("ann@customer.test")
        host, port = str(smtp_server.server_address[0]), smtp_server.server_address[1]
        mailer = OutboxMailer(
            tmp_path / "out", verified=[VERIFIED], smtp_url=f"smtp://{host}:{port}"
        )

        with pytest.raises(MailRejectedError):
            mailer.send(an_email())
        assert mailer.messages() == []

    def test_an_unreachable_smtp_server_is_a_backend_outage(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.mail import OutboxMailer

        with socket.socket() as s:  # a loopback port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        mailer = OutboxMailer(
            tmp_path / "out", verified=[VERIFIED], smtp_url=f"smtp://127.0.0.1:{port}?timeout=5"
        )

        with pytest.raises(BackendUnavailableError):
            mailer.send(an_email())

    def test_an_smtp_url_of_another_scheme_is_an_invalid_request(self, tmp_path: Path) -> None:
        from stratus.platform.adapters.local.mail import OutboxMailer

        with pytest.raises(InvalidRequestError):
            OutboxMailer(tmp_path / "out", smtp_url="http://localhost:25")


# -- the SES adapter on moto ---------------------------------------------------------


class TestSesMailer(MailerContract):
    @pytest.fixture
    def mailer(self, moto_aws: None) -> Mailer:
        import boto3

        from stratus.platform.adapters.aws.mail import SesMailer

        ses = boto3.client("ses", region_name="us-east-1")
        ses.verify_email_identity(EmailAddress=VERIFIED)
        ses.verify_domain_identity(Domain=VERIFIED_DOMAIN)
        return SesMailer(client=ses)

    @pytest.fixture
    def sent(self, moto_aws: None) -> Sent:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]

        def read() -> list[EmailMessage]:
            raw = [m.raw_data for m in backend.sent_messages]
            return [parse(r.encode() if isinstance(r, str) else r) for r in raw]

        return read

    def test_verify_registers_an_address_or_a_domain_with_ses(self, moto_aws: None) -> None:
        import boto3

        from stratus.platform.adapters.aws.mail import SesMailer

        ses = boto3.client("ses", region_name="us-east-1")
        mailer = SesMailer(client=ses)

        mailer.verify("new@example.net")
        mailer.verify("example.org")

        assert set(ses.list_identities()["Identities"]) == {"new@example.net", "example.org"}
        assert mailer.send(an_email(sender="x@example.org"))

    def test_an_unreachable_endpoint_is_a_backend_outage(
        self, unreachable_client: Callable[[str], Any]
    ) -> None:
        from stratus.platform.adapters.aws.mail import SesMailer

        with pytest.raises(BackendUnavailableError):
            SesMailer(client=unreachable_client("ses")).send(an_email())


# -- a backend that cannot be reached ------------------------------------------------


