"""ESD (Extension for Stable Diffusion on AWS) 1.5.0: roles, users, datasets, checkpoints,
endpoints, training jobs and inference jobs. Vendor docs:
https://github.com/awslabs/stable-diffusion-aws-extension/blob/v1.5.0/docs/en/developer-guide/api/1.5.0.md
(the code at that tag wins where the two disagree)."""

from providers.esd.resources import Checkpoint, Dataset, Endpoint, InferenceJob, Role, TrainingJob, User

__all__ = ["Checkpoint", "Dataset", "Endpoint", "InferenceJob", "Role", "TrainingJob", "User"]
