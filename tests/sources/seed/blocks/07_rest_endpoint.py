rest_endpoint = published_pipeline.endpoint
print(rest_endpoint)
