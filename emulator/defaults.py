"""The credentials and identities every emulated platform accepts out of the box.

One place for them: the platforms' default settings read them from here, and so do the project's
tools, benchmarks and tests that talk to a freshly started emulator. Plain constants, importing no
web framework, so anything may import this module without the emulator's extra dependencies.

They are public test values, not secrets: the emulator is an offline stand-in. An admin reset
restores them; ``PUT /_admin/settings/<platform>`` replaces them at run time.
"""

from __future__ import annotations

# -- ESD: API Gateway key and the seeded user ------------------------------------------------
ESD_API_KEY = "09876543210987654321"
ESD_USERNAME = "api"  # seeded with the built-in role "IT Operator" (spec §2.3)

# -- PAI: one AccessKey pair accepted by the signature check ---------------------------------
PAI_ACCESS_KEY_ID = "LTAI5tEmulatorAccessKey"
PAI_ACCESS_KEY_SECRET = "EmulatorSecretKey000000000000000"

# -- DataArts Fabric: IAM domain, project, user (token API) and AK/SK (signing) ---------------------
FABRIC_DOMAIN_NAME = "emulator-domain"
FABRIC_DOMAIN_ID = "000000000000000000000000000d0001"
FABRIC_PROJECT_NAME = "cn-north-4"
FABRIC_PROJECT_ID = "000000000000000000000000000a0001"
FABRIC_USERNAME = "emulator-user"
FABRIC_PASSWORD = "EmulatorPassw0rd!"
FABRIC_USER_ID = "000000000000000000000000000e0001"
FABRIC_ACCESS_KEY = "EMULATORAK0000000000"
FABRIC_SECRET_KEY = "EmulatorSecretKey0000000000000000000000"

# -- ZStack: the admin account (login) and one AccessKey pair ------------------------------------
ZSTACK_ACCOUNT = "admin"
ZSTACK_PASSWORD = "password"
ZSTACK_ACCESS_KEY_ID = "EmulatorAccessKeyId00"
ZSTACK_ACCESS_KEY_SECRET = "EmulatorAccessKeySecret0000000000000000"

# -- AI Creation Workshop: the API Gateway app --------------------------------------------------
WORKSHOP_APP_KEY = "24900001"
WORKSHOP_APP_SECRET = "EmulatorWorkshopAppSecret0000000"
