"""ESD (Extension for Stable Diffusion on AWS) 1.5.0: roles, users, datasets, checkpoints,
endpoints, training jobs and inference jobs. Spec: ../shared/specs/esd.md."""

from providers.esd.checkpoint import Checkpoint
from providers.esd.dataset import Dataset
from providers.esd.endpoint import Endpoint
from providers.esd.inference import InferenceJob
from providers.esd.role import Role
from providers.esd.training import TrainingJob
from providers.esd.user import User

__all__ = ["Checkpoint", "Dataset", "Endpoint", "InferenceJob", "Role", "TrainingJob", "User"]
