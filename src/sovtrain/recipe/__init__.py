"""Recipes: the typed, composable description of a training job."""

from sovtrain.recipe.load import LoadedRecipe, load_recipe, recipe_digest
from sovtrain.recipe.schema import Recipe

__all__ = ["LoadedRecipe", "Recipe", "load_recipe", "recipe_digest"]
