"""Exceptions with azureml's names (``azureml.exceptions``)."""

from __future__ import annotations


class AzureMLException(Exception):
    """Base of the SDK's errors."""


class UserErrorException(AzureMLException):
    """The request was refused: the message says what is wrong."""

    def __init__(self, message: str, field: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status_code = status_code


class AuthenticationException(UserErrorException):
    pass


class ActivityFailedException(AzureMLException):
    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.details = details or {}


class ComputeTargetException(AzureMLException):
    pass


class ServiceException(AzureMLException):
    """The server failed or could not be reached."""


class WebserviceException(AzureMLException):
    """A request about registered models failed (azureml's model management errors)."""

    def __init__(self, message: str, status_code: int | None = None, logger=None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class ModelNotFoundException(AzureMLException):
    """No such model where it was looked for."""

    def __init__(self, message: str, logger=None):
        super().__init__(message)
        self.message = message


class ModelPathNotFoundException(AzureMLException):
    """The files to register as a model are not among the run's files."""

    def __init__(self, message: str, logger=None):
        super().__init__(message)
        self.message = message
