provider "gitlab" {
  token = "glpat-6gBUSb2dO22V189utHwi"
}
