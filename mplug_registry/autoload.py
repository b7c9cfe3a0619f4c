"""Imported by MMEngine through the registries' ``locations=``: loads the plugins on first lookup."""
from .plugin_manager import get_plugin_manager

get_plugin_manager()
