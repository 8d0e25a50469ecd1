"""ESD (Extension for Stable Diffusion on AWS) 1.5.0: roles, users, datasets, checkpoints,
endpoints, training jobs and inference jobs. Spec: ../shared/specs/esd.md."""

from providers.esd.resources import Checkpoint, Dataset, Endpoint, InferenceJob, Role, TrainingJob, User

__all__ = ["Checkpoint", "Dataset", "Endpoint", "InferenceJob", "Role", "TrainingJob", "User"]
