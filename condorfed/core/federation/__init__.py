"""The federation: model (federation.yaml), placement policy and the slot planner.

Kept import-free so that ``from condorfed import plan_slots`` stays light; import the
submodules (``model``, ``planner``, ``policy``) directly.
"""
