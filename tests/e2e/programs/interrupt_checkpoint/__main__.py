"""A program for tests/e2e/test_interrupt_checkpoint.py: one esd.Checkpoint from a URL, renamed
(as stacks/blocks/esd.py declares the base model), so `pulumi up` can be interrupted while its
download or its rename is under way."""

import pulumi

from providers import esd

ckpt = esd.Checkpoint("base-model", checkpoint_type="Stable-diffusion",
                      source_url="https://models.example.com/sd/int-base.safetensors",
                      name="int-sd-abc123", message="interrupted base model")

pulumi.export("checkpoint", ckpt.id)
