"""The ``aimodels`` command: environments, promotion, rollback and review for the stacks in stacks/.

It drives the Pulumi CLI (it never imports the providers) and reads stack files with the schema
in :mod:`aimodels.envconfig`, which the stack program also uses.
"""
