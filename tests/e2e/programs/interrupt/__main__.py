"""A program for the interrupted-run tests (tests/e2e/test_interrupt.py): endpoints whose creates
take long, so `pulumi up` can be interrupted while they wait. Config:
  count        how many esd.Endpoint resources (each with its own role name), default 3
  waitTimeout  their wait_timeout_s, default 1800
  paiModels    how many pai.Model resources (marker-carrying creates), default 0
"""

import pulumi

from providers import esd, pai

cfg = pulumi.Config()
count = cfg.get_int("count") or 3
wait = cfg.get_int("waitTimeout") or 1800

endpoints = [esd.Endpoint(f"ep{i}", name=f"int{i}", endpoint_type="Async", instance_type="ml.g5.2xlarge",
                          assign_to_roles=[f"int-role-{i}"], wait_timeout_s=wait) for i in range(count)]
models = [pai.Model(f"model{i}", name=f"int-model-{i}", domain="aigc", task="text-to-image-synthesis")
          for i in range(cfg.get_int("paiModels") or 0)]

pulumi.export("endpoints", [e.id for e in endpoints])
pulumi.export("models", [m.id for m in models])
