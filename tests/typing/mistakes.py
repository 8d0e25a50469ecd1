"""A program with three deliberate mistakes, for the type-check test (tests/typing/test_types.py).

Each mistake is marked with ``# expect: <mypy error code>`` on its line; the test asserts the
checker reports exactly those lines and codes, and nothing else. Never run: only type-checked.
"""

from __future__ import annotations

import pulumi

from providers import esd, fabric, pai
from providers.fabric.types import VersionSpecArgs

role = esd.Role("ops", name="ops", permissions=["checkpoint:all"])

# Correct uses, which must type-check cleanly: Outputs as inputs, TypedDicts, plain dicts.
version: VersionSpecArgs = {"name": "v1", "base_model_type": "QWEN2_5_7B", "model_path": "obs://b/chat/v1/"}
chat = fabric.Model("chat", workspace_id="ws", name="chat", versions=[version, {"name": "v2", "base_model_type": "X"}])
model = pai.Model("sd", name="sd", labels={"team": "imaging"}, accessibility="PRIVATE")
pai.ModelVersion("sd-1", model_id=model.model_id, uri="oss://b.oss-cn-hangzhou.aliyuncs.com/sd/1/")
endpoint = esd.Endpoint("sd", name="sd", endpoint_type="Async", instance_type="ml.g5.2xlarge",
                        assign_to_roles=[role.name], opts=pulumi.ResourceOptions(depends_on=[role]))
esd.InferenceJob("smoke", inference_type="Async", endpoint_name=endpoint.endpoint_name,
                 models={"Stable-diffusion": ["v1-5.safetensors"]})
name_length: pulumi.Output[int] = endpoint.endpoint_name.apply(len)

# 1. a wrong type: the instance count is an int
esd.Endpoint("bad-type", name="x", endpoint_type="Async", instance_type="ml.g5.2xlarge",
             initial_instance_count="2", assign_to_roles=["ops"])  # expect: arg-type
# 2. an unknown keyword
esd.Role("bad-keyword", name="ops2", permissions=["checkpoint:all"], permisions=["x"])  # expect: call-arg
# 3. a missing required input (versions)
fabric.Model("bad-missing", workspace_id="ws", name="chat2")  # expect: call-arg
