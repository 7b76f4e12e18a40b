"""``classifieds-etl report send --outbox DIR``: send (or resend) the e-mails waiting in an outbox."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from etl.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ConfigError



def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("report", help="reports: send the e-mails waiting in an outbox")
    sub = p.add_subparsers(dest="report_command", required=True)
    s = sub.add_parser("send", help="send (or resend) the .eml files of an outbox over SMTP")
    s.add_argument("--outbox", type=Path, help="outbox folder (default: the configuration's defaults.email.outbox)")
    s.add_argument("--config", type=Path, default=Path("agencies.yaml"),
                   help="agencies.yaml whose defaults.email.smtp is used (default: ./agencies.yaml)")
    s.set_defaults(func=cmd_send)


def cmd_send(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # looked up now: tests and callers may swap them
    from etl.agencies import load_config
    from etl.report.mail import Outbox, deliver

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        err.write(f"configuration invalide :\n{exc}\n")
        return EXIT_USAGE
    smtp = cfg.config.defaults.email.smtp
    if smtp is None:
        err.write(f"{args.config}: aucun serveur SMTP configuré (defaults.email.smtp) ; les messages restent "
                  f"dans la boîte d'envoi\n")
        return EXIT_USAGE
    outbox_dir = args.outbox or cfg.outbox
    if not outbox_dir.is_dir():
        err.write(f"boîte d'envoi introuvable : {outbox_dir}\n")
        return EXIT_USAGE
    delivery = deliver(Outbox(outbox_dir), smtp)
    for p in delivery.sent:
        out.write(f"envoyé : {p.name}\n")
    for p, why in delivery.failed:
        out.write(f"non envoyé (reste dans {outbox_dir}) : {p.name} — {why}\n")
    out.write(f"{len(delivery.sent)} envoyé(s), {len(delivery.failed)} en attente\n")
    return EXIT_FAILED if delivery.failed else EXIT_OK
