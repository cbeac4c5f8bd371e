"""Generate a realistic data set for the benchmarks.

Default size (``--scale 1``): 1,000,000 contacts with 1.5 identities each (phones and e-mails),
200,000 deals, 1,000,000 interactions, 20 users in two queues. Phones are generated as people type
them (mixed formats) and stored normalized, exactly as the product stores them.

    .venv/bin/python bench/generate.py --scale 0.1        # on the configured database
    DATABASE_URL=postgres://... .venv/bin/python bench/generate.py
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import django_setup

BATCH = 5000


def phone_number(i: int) -> str:
    return f"+79{i:09d}"


def typed(phone: str, rng: random.Random) -> str:
    d = phone[2:]
    return rng.choice(
        [
            f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
            f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}",
            f"8{d}",
            d,
            f"7{d}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    django_setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from otdel.accounts.models import Role, User
    from otdel.comms.models import Interaction
    from otdel.crm.models import Contact, Deal, Identity, Pipeline, Stage
    from otdel.routing.models import Queue, QueueMember, RoutingSettings

    rng = random.Random(args.seed)
    n_contacts = int(1_000_000 * args.scale)
    n_deals = int(200_000 * args.scale)
    n_interactions = int(1_000_000 * args.scale)
    started = time.perf_counter()
    if Contact.objects.exists():
        print("The database already has contacts; use an empty one (e.g. OTDEL_DATA_DIR=bench/data).")
        return

    users = []
    for i in range(20):
        role = Role.OFFICE_MANAGER if i == 0 else Role.SALES_MANAGER
        user = User.objects.create(
            username=f"bench{i}",
            full_name=f"Менеджер {i}",
            role=role,
            extension=str(300 + i),
            work_days=list(range(7)),
            work_start=datetime.time(0, 0),
            work_end=datetime.time(23, 59, 59),
        )
        users.append(user)
    integration = User.objects.create(username="bench-pbx", role=Role.INTEGRATION)
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=integration)
    sales = Queue.objects.create(code="sales", name="Продажи")
    QueueMember.objects.bulk_create([QueueMember(queue=sales, user=u) for u in users[1:]])
    cfg = RoutingSettings.load()
    cfg.default_queue, cfg.fallback_user, cfg.non_target_user = sales, users[0], users[0]
    cfg.save()
    pipeline = Pipeline.objects.create(name="Продажи", is_default=True)
    stages = [
        Stage.objects.create(pipeline=pipeline, name=name, kind=kind, order=k)
        for k, (name, kind) in enumerate(
            [
                ("Новая", "open"),
                ("КП", "open"),
                ("Переговоры", "open"),
                ("Успешно", "won"),
                ("Проиграна", "lost"),
            ]
        )
    ]

    print(f"contacts: {n_contacts}")
    for start in range(0, n_contacts, BATCH):
        with transaction.atomic():
            contacts = Contact.objects.bulk_create(
                [
                    Contact(
                        full_name=f"Клиент {i}",
                        search_text=f"клиент {i}",
                        responsible_id=users[1 + i % 19].pk if i % 3 == 0 else None,
                        non_target=i % 50 == 0,
                    )
                    for i in range(start, min(start + BATCH, n_contacts))
                ]
            )
            identities = []
            for offset, contact in enumerate(contacts):
                i = start + offset
                identities.append(
                    Identity(contact=contact, kind="phone", value=phone_number(i), is_primary=True)
                )
                if i % 2 == 0:
                    identities.append(Identity(contact=contact, kind="email", value=f"client{i}@example.ru"))
            Identity.objects.bulk_create(identities)
    first_contact = Contact.objects.order_by("id").values_list("id", flat=True).first() or 0

    print(f"deals: {n_deals}")
    now = timezone.now()
    for start in range(0, n_deals, BATCH):
        with transaction.atomic():
            Deal.objects.bulk_create(
                [
                    Deal(
                        title=f"Сделка {i}",
                        pipeline=pipeline,
                        stage=stages[rng.choice([0, 0, 1, 1, 2, 3, 4])],
                        contact_id=first_contact + rng.randrange(n_contacts),
                        responsible=users[1 + i % 19],
                        amount=rng.randrange(30_000, 5_000_000),
                        position=float(i),
                    )
                    for i in range(start, min(start + BATCH, n_deals))
                ]
            )

    print(f"interactions: {n_interactions}")
    for start in range(0, n_interactions, BATCH):
        with transaction.atomic():
            Interaction.objects.bulk_create(
                [
                    Interaction(
                        kind="call",
                        channel="call",
                        direction="in",
                        provider="bench",
                        external_id=f"b{i}",
                        occurred_at=now - datetime.timedelta(minutes=i),
                        contact_id=first_contact + rng.randrange(n_contacts),
                        call_state=3,
                        status="answered",
                        duration=rng.randrange(10, 600),
                        payload={},
                    )
                    for i in range(start, min(start + BATCH, n_interactions))
                ]
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"done in {time.perf_counter() - started:.0f} s; integration token: {token.key}")
    print("sample caller as typed:", typed(phone_number(rng.randrange(n_contacts)), rng))


if __name__ == "__main__":
    main()
