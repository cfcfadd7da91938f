provider "gitlab" {
  token = "glpat-aI1wLIy5aRGslBo9iD0m"
}
