"""The planner (`sovtrain plan`): compute, energy, memory fit and communication of a recipe on
paper, before a job is submitted. Pure arithmetic on the recipe, the datasheet table
(`model/devices.py`) and the site facts of a cluster profile; nothing here touches a device."""
