"""A model center, a model service and one model bound to it, as stacks/__main__.py declares them
(tests/e2e/test_zstack_stack.py)."""

import pulumi

from providers import zstack

config = pulumi.Config()
center = zstack.ModelCenter(
    "model-center",
    name="e2e-model-center",
    url="192.168.10.12:/ai/model_center",
    management_ip="192.168.10.12",
    management_port=int(config.get("centerPort") or 8989),
    description="models served in this environment",
)
service = zstack.ModelService(
    "qwen-service",
    name="e2e-qwen-vllm",
    model_center_uuid=center.id,
    yaml=config.get("serviceYaml") or "name: qwen-vllm\nport: 8000\n",
    request_cpu=8,
    request_memory=32 * 1024**3,
    install_path="192.168.10.12:/ai/model_center/services/vllm",
    start_command="python -m vllm.entrypoints.openai.api_server --port 8000",
    source="HuggingFace",
)
model = zstack.Model(
    "qwen-model",
    name="e2e-qwen-1.5-32b",
    install_path="192.168.10.12:/ai/model_center/Qwen_1.5_32B",
    model_center_uuid=center.id,
    description=config.get("description") or "Qwen 1.5 32B chat model",
    vendor="Alibaba",
    version=config.get("version") or "1.5",
    size=102400,
    recommended_gpu_num="2",
    token=config.require_secret("downloadToken"),
    user_tags=["environment::e2e"],
    model_service_uuids=[service.id],
)
pulumi.export("model_center_uuid", center.id)
pulumi.export("model_uuid", model.id)
pulumi.export("model_service_uuid", service.id)
pulumi.export("model_center_status", center.status)
