"""Reports, JSON documents and pictures: built here, printed by the command line."""
