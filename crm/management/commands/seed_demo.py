"""Idempotent demo data: users, teams, organizations, people, tickets, deals, then demo tasks.

Every record is looked up by a natural key (username, team name, organization
name, e-mail address, ticket subject + organization, deal name) and created only
when missing, so running the command again creates nothing twice. The data is
built from fixed lists: every run on every machine produces the same records.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from crm.models import Individual, Opportunity, Organization, Profile, Team, TeamMembership, Ticket

DEMO_PASSWORD = "demo"
MANAGERS_GROUP = "Managers"

# username, first name, last name, time zone, hourly rate, role shown in the login list
USERS = [
    ("admin", "Alex", "Morgan", "UTC", Decimal("0.00"), "superuser, also /admin/"),
    ("ana", "Ana", "Fischer", "Europe/Berlin", Decimal("85.00"), "manages Sales"),
    ("ben", "Ben", "Carter", "America/New_York", Decimal("95.00"), "manages Support"),
    ("cara", "Cara", "Walsh", "Europe/London", Decimal("70.00"), "member of Sales and Support"),
]

# team, description, manager, [(member, task types handled; empty = all)]
TEAMS = [
    ("Sales", "New business and renewals.", "ana", [
        ("ben", ["call", "email", "demo", "proposal"]),
        ("cara", ["meeting", "follow_up", "contract"]),
    ]),
    ("Support", "Customer questions, incidents and onboarding.", "ben", [
        ("ana", ["call", "email", "follow_up"]),
        ("cara", []),
    ]),
]

# name, domain (RFC 2606 .example, so no demo e-mail can reach a real company), phone, address
ORGANIZATIONS = [
    ("Northwind Logistics GmbH", "northwind-logistics.example", "+49 40 3861 2200", "Speicherstraße 12\n20457 Hamburg\nGermany"),
    ("Blue Harbor Foods Ltd", "blueharborfoods.example", "+44 117 496 0301", "14 Wharf Road\nBristol BS1 4RN\nUnited Kingdom"),
    ("Cedar & Pine Architects", "cedarpine.example", "+1 312 555 0142", "220 Lake Street\nChicago, IL 60601\nUSA"),
    ("Helios Solar Systems S.L.", "helios-solar.example", "+34 91 555 2310", "Calle de Alcalá 88\n28009 Madrid\nSpain"),
    ("Kestrel Analytics", "kestrel-analytics.example", "+1 415 555 0188", "500 Howard Street\nSan Francisco, CA 94105\nUSA"),
    ("Lindqvist Medical AB", "lindqvist-medical.example", "+46 8 555 123 40", "Sveavägen 44\n111 34 Stockholm\nSweden"),
    ("Marlow & Finch Solicitors", "marlowfinch.example", "+44 20 7946 0812", "3 Chancery Lane\nLondon WC2A 1LS\nUnited Kingdom"),
    ("Orchard Valley Farms", "orchardvalley.example", "+1 503 555 0167", "1200 Orchard Road\nHood River, OR 97031\nUSA"),
    ("Papillon Cosmetics SAS", "papillon-cosmetics.example", "+33 1 55 55 01 20", "18 rue de la Paix\n75002 Paris\nFrance"),
    ("Quarry Hill Construction", "quarryhill.example", "+44 113 496 0777", "Unit 7, Quarry Hill\nLeeds LS2 7EW\nUnited Kingdom"),
    ("Riverside Dental Group", "riversidedental.example", "+1 617 555 0123", "88 Charles Street\nBoston, MA 02114\nUSA"),
    ("Silberstein Maschinenbau AG", "silberstein-mb.example", "+49 711 555 9040", "Industriestraße 5\n70565 Stuttgart\nGermany"),
    ("Tidewater Marine Supply", "tidewatermarine.example", "+1 757 555 0199", "410 Harbor Drive\nNorfolk, VA 23510\nUSA"),
    ("Umbra Studios", "umbrastudios.example", "+39 02 5555 1842", "Via Tortona 27\n20144 Milano\nItaly"),
    ("Vantage Point Consulting", "vantagepoint.example", "+1 646 555 0175", "1 Liberty Plaza\nNew York, NY 10006\nUSA"),
    ("Westbrook University Press", "westbrook-press.example", "+44 1865 555 210", "12 Broad Street\nOxford OX1 3AS\nUnited Kingdom"),
    ("Alpenblick Hotels", "alpenblick-hotels.example", "+43 512 555 700", "Maria-Theresien-Straße 9\n6020 Innsbruck\nAustria"),
    ("Brightline Software BV", "brightline.example", "+31 20 555 4411", "Herengracht 182\n1016 BR Amsterdam\nNetherlands"),
    ("Copperfield Breweries", "copperfield-brew.example", "+353 1 555 0190", "Watling Street 4\nDublin D08 X2P7\nIreland"),
    ("Dunmore Insurance Brokers", "dunmore-insurance.example", "+44 131 496 0555", "27 George Street\nEdinburgh EH2 2PB\nUnited Kingdom"),
    ("Evergreen Property Management", "evergreen-pm.example", "+1 206 555 0134", "1501 4th Avenue\nSeattle, WA 98101\nUSA"),
    ("Falkner Textil GmbH", "falkner-textil.example", "+49 89 555 3170", "Leopoldstraße 66\n80802 München\nGermany"),
    ("Granite Peak Outfitters", "granitepeak.example", "+1 303 555 0110", "1600 Wynkoop Street\nDenver, CO 80202\nUSA"),
    ("Harbourview Veterinary Clinic", "harbourview-vet.example", "+61 2 5550 1234", "22 Circular Quay\nSydney NSW 2000\nAustralia"),
]

PEOPLE = [
    ("Lena", "Hoffmann"), ("James", "Whitaker"), ("Priya", "Raman"), ("Diego", "Navarro"),
    ("Emily", "Chen"), ("Oskar", "Lindqvist"), ("Charlotte", "Marlow"), ("Marcus", "Reed"),
    ("Camille", "Dubois"), ("Tom", "Brennan"), ("Hannah", "Goldberg"), ("Felix", "Wagner"),
    ("Grace", "O'Connor"), ("Luca", "Bianchi"), ("Sofia", "Martínez"), ("Oliver", "Hughes"),
    ("Mia", "Schuster"), ("Daan", "de Vries"), ("Aoife", "Byrne"), ("Fiona", "MacLeod"),
    ("Nathan", "Brooks"), ("Katrin", "Falkner"), ("Ryan", "Mitchell"), ("Chloe", "Taylor"),
    ("Jonas", "Becker"), ("Isabel", "Costa"), ("William", "Foster"), ("Yuki", "Tanaka"),
    ("Sarah", "Klein"), ("Daniel", "Okafor"),
]

JOB_TITLES = [
    "Head of Operations", "Purchasing Manager", "Chief Financial Officer", "IT Director",
    "Office Manager", "Managing Director", "Procurement Lead", "Customer Success Manager",
    "Facilities Manager", "Project Manager",
]

TICKET_SUBJECTS = [
    "Cannot export invoices to CSV", "Login fails after password reset", "Request for additional user seats",
    "Wrong VAT rate on last invoice", "Calendar feed shows tasks twice", "Slow search on the contacts page",
    "Reminder e-mails arrive late", "Question about data retention", "Import of contacts stops at row 500",
    "Change billing address", "Two-factor setup for the finance team", "Attachment upload limit too low",
    "Report totals differ from export", "Team member cannot see shared tasks", "Request for on-site training",
    "Duplicate organization records", "API access for the warehouse system", "Time zone wrong in weekly digest",
    "Cancel the add-on for archive storage", "Printer-friendly view of tickets", "GDPR data export request",
    "Recurring task skipped a week", "Invoice PDF shows wrong logo", "Onboarding call for new branch office",
]

DEAL_PRODUCTS = [
    ("Annual licence renewal", Decimal("12000.00")), ("Onboarding package", Decimal("4500.00")),
    ("Upgrade to Premium support", Decimal("8200.00")), ("Data migration project", Decimal("18500.00")),
    ("Expansion to 50 seats", Decimal("27000.00")), ("Training workshop", Decimal("3200.00")),
    ("Custom reporting module", Decimal("9800.00")), ("Three-year framework agreement", Decimal("64000.00")),
]

CURRENCIES = ["EUR", "USD", "GBP"]


def _get_or_create(model, lookup, defaults):
    """Find by natural key or create a validated record. Returns (object, created)."""
    obj = model.objects.filter(**lookup).first()
    if obj is not None:
        return obj, False
    obj = model(**lookup, **defaults)
    obj.full_clean()
    obj.save()
    return obj, True


class Command(BaseCommand):
    help = (
        "Load idempotent demo data (users admin/ana/ben/cara with password 'demo', teams, organizations, "
        "people, tickets, opportunities and demo tasks). Refuses to run with DEBUG off unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, default=60, metavar="N", help="How many demo tasks (default 60).")
        parser.add_argument(
            "--force", action="store_true",
            help="Run even when DEBUG is off. The demo users have the password 'demo': never on a public site.",
        )

    def handle(self, *args, tasks, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates users with the password 'demo' and refuses to run while DEBUG is off. "
                "Set DEBUG=true for a local demo, or pass --force if you really want demo data in this database."
            )
        if tasks < 0:
            raise CommandError("--tasks must be 0 or more.")

        self.created = {}
        with transaction.atomic():
            users = self._users()
            teams = self._teams(users)
            self._managers_group(users)
            organizations = self._organizations()
            people = self._individuals(organizations)
            self._tickets(organizations, people)
            self._opportunities(organizations, people, users)

        from tasks.demo import seed_tasks

        staff = [users[name] for name in ("ana", "ben", "cara")]
        task_count = seed_tasks(count=tasks, users=staff, teams=list(teams.values()), stdout=self.stdout)

        self._count("tasks", task_count or 0)

        from billables.demo import seed_billing

        for label, count in seed_billing(users=users, admin=users["admin"], stdout=self.stdout).items():
            self._count(label, count)

        from tasks.demo import seed_repeating

        self._count("repeating tasks", seed_repeating(users=users, teams=teams, stdout=self.stdout))

        from memos.demo import seed_memos
        from projects.demo import seed_projects

        self._count("projects", seed_projects(users=users, teams=teams, stdout=self.stdout))
        self._count("memos", seed_memos(users=users, stdout=self.stdout))
        summary = ", ".join(
            f"{count} {label if count != 1 else label.removesuffix('s')}" for label, count in self.created.items()
        )
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Created {summary}."))
        self._print_logins()

    def _count(self, label, created):
        self.created[label] = self.created.get(label, 0) + int(created)

    def _users(self):
        User = get_user_model()
        users = {}
        for username, first, last, tz, rate, _role in USERS:
            user = User.objects.filter(username=username).first()
            created = user is None
            if created:
                user = User(
                    username=username, first_name=first, last_name=last, email=f"{username}@example.com",
                    is_staff=username == "admin", is_superuser=username == "admin",
                )
                user.set_password(DEMO_PASSWORD)
                user.save()
                # Only a new user's profile is set: a later change by the user survives a re-run.
                Profile.objects.update_or_create(user=user, defaults={"time_zone": tz, "default_hourly_rate": rate})
            self._count("users", created)
            users[username] = user
        return users

    def _teams(self, users):
        teams = {}
        for name, description, manager, members in TEAMS:
            team, created = _get_or_create(Team, {"name": name}, {"description": description, "manager": users[manager]})
            self._count("teams", created)
            for username, task_types in members:
                _, created = _get_or_create(
                    TeamMembership, {"team": team, "user": users[username]}, {"task_types": task_types}
                )
                self._count("team memberships", created)
            teams[name] = team
        return teams

    def _managers_group(self, users):
        """Team managers may delete shared entities (see crm/permissions.py)."""
        group, created = Group.objects.get_or_create(name=MANAGERS_GROUP)
        self._count("groups", created)
        perms = Permission.objects.filter(
            content_type__app_label="crm",
            codename__in=[f"delete_{m._meta.model_name}" for m in (Organization, Individual, Ticket, Opportunity)],
        )
        group.permissions.add(*perms)
        for _name, _description, manager, _members in TEAMS:
            users[manager].groups.add(group)

    def _organizations(self):
        organizations = []
        for name, domain, phone, address in ORGANIZATIONS:
            org, created = _get_or_create(Organization, {"name": name}, {
                "website": f"https://www.{domain}", "email": f"info@{domain}", "phone": phone, "address": address,
            })
            self._count("organizations", created)
            organizations.append(org)
        return organizations

    def _individuals(self, organizations):
        people = []
        for i, (first, last) in enumerate(PEOPLE):
            org = organizations[i % len(organizations)]
            domain = ORGANIZATIONS[i % len(ORGANIZATIONS)][1]
            local = f"{first}.{last}".lower().replace(" ", "").replace("'", "").replace("í", "i")
            person, created = _get_or_create(Individual, {"email": f"{local}@{domain}"}, {
                "first_name": first, "last_name": last, "organization": org,
                "job_title": JOB_TITLES[i % len(JOB_TITLES)],
                "phone": f"{org.phone[:-2]}{10 + i}",
            })
            self._count("individuals", created)
            people.append(person)
        return people

    def _tickets(self, organizations, people):
        statuses = ["open", "open", "pending", "resolved", "open", "closed"]
        priorities = ["medium", "high", "low", "urgent", "medium"]
        for i, subject in enumerate(TICKET_SUBJECTS):
            org = organizations[(i * 5) % len(organizations)]
            requester = next((p for p in people if p.organization_id == org.pk), None)
            _, created = _get_or_create(Ticket, {"subject": subject, "organization": org}, {
                "description": f"Reported by {requester or org.name}. {subject}: please look into it.",
                "status": statuses[i % len(statuses)], "priority": priorities[i % len(priorities)],
                "requester": requester,
            })
            self._count("tickets", created)

    def _opportunities(self, organizations, people, users):
        stages = ["lead", "qualified", "proposal", "negotiation", "won", "lost", "proposal", "qualified"]
        owners = [users["ana"], users["ben"], users["cara"]]
        today = timezone.localdate()
        for i, org in enumerate(organizations):
            product, amount = DEAL_PRODUCTS[i % len(DEAL_PRODUCTS)]
            stage = stages[i % len(stages)]
            # Closed deals closed in the past; open ones are expected in the coming weeks.
            offset = -(7 + 3 * i) if stage in ("won", "lost") else 10 + 4 * i
            _, created = _get_or_create(Opportunity, {"name": f"{org.name} – {product}"}, {
                "organization": org,
                "contact": next((p for p in people if p.organization_id == org.pk), None),
                "stage": stage, "amount": amount + Decimal(100 * (i % 5)),
                "currency": CURRENCIES[i % len(CURRENCIES)],
                "expected_close_date": today + datetime.timedelta(days=offset),
                "owner": owners[i % len(owners)],
            })
            self._count("opportunities", created)

    def _print_logins(self):
        self.stdout.write(f"\nSign in at {settings.SITE_URL}/accounts/login/ with (password for all: {DEMO_PASSWORD}):")
        for username, first, last, tz, _rate, role in USERS:
            self.stdout.write(f"  {username:<6} {first} {last}, {tz} ({role})")
