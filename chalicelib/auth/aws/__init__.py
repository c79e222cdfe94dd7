"""The aws auth method, iam type: a caller proves its IAM identity with a signed
sts:GetCallerIdentity request that Lambdavault forwards to STS."""
